package flv

import (
	"errors"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

func smallRecording(t testing.TB) []byte {
	s := stream{seconds: 3, fps: 10, gop: 10, audioMS: 100, frameLen: 4}
	f, w := newMemWriter(t, Options{IndexEntries: 4})
	writeAll(t, w, s.messages(t))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return f.snapshot()
}

// FuzzReader: whatever the bytes, the Reader returns errors, never panics, never reads a
// payload beyond its cap or the file, and a seek lands on a tag of the file; appending to the
// file leaves one a Reader reads to its end.
func FuzzReader(f *testing.F) {
	for _, fx := range readerFixtures() {
		f.Add(fx.b)
	}
	f.Add(smallRecording(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxTag = 1 << 16
		r, err := NewReader(bytesAt(b), int64(len(b)), ReaderOptions{MaxTagSize: maxTag, MaxScanIndex: 8})
		if err != nil {
			if !errors.Is(err, ErrNotFLV) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("NewReader: unexpected error kind %v", err)
			}
			return
		}
		checkTags(t, r, maxTag)
		for _, at := range []uint32{0, 1000, 1 << 31} {
			k, err := r.SeekKeyframe(at)
			if err != nil {
				continue
			}
			if k.Offset != r.DataOffset() {
				if _, err := r.ReadTagHeader(k.Offset); err != nil {
					t.Fatalf("SeekKeyframe(%d) = %+v: not a tag: %v", at, k, err)
				}
			}
		}
		r.Duration()
		if m := r.Metadata(); m != nil {
			if _, err := m.AppendPlayerData(nil); err != nil {
				t.Fatalf("AppendPlayerData: %v", err)
			}
		}
		checkAppend(t, b)
	})
}

func checkTags(t *testing.T, r *Reader, maxTag int) {
	prev := int64(-1)
	c := r.Tags(r.DataOffset())
	for c.Next() {
		tag := c.Tag()
		if tag.Offset <= prev || len(tag.Payload) > maxTag || tag.PayloadOffset()+int64(len(tag.Payload)) > r.Size() {
			t.Fatalf("tag %+v (payload %d) in a file of %d", tag.TagHeader, len(tag.Payload), r.Size())
		}
		prev = tag.Offset
	}
	if err := c.Err(); err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Cursor: unexpected error kind %v", err)
	}
}

// checkAppend appends a little to the file: the result must read to its end without damage.
func checkAppend(t *testing.T, b []byte) {
	f := &memFile{b: append([]byte(nil), b...)}
	w, err := OpenAppend(f, int64(len(b)), Options{})
	if err != nil {
		return // not a file to append to
	}
	for _, m := range []msg{{TagVideo, 0, avcSeq}, {TagVideo, 0, keyFrame(2)}, {TagAudio, 10, audioFrame(2)}} {
		if err := w.WriteTag(m.typ, m.ts, m.payload); err != nil && !errors.Is(err, ErrLimit) {
			t.Fatal(err) // ErrLimit: the file's timestamps are already at the format's end
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := f.snapshot()
	r, err := NewReader(bytesAt(out), int64(len(out)), ReaderOptions{MaxTagSize: MaxTagPayload})
	if err != nil {
		t.Fatalf("after append: %v", err)
	}
	c := r.Tags(r.DataOffset())
	n := 0
	for c.Next() {
		n++
	}
	if c.Err() != nil {
		t.Fatalf("after append: %d tags, %v", n, c.Err())
	}
}

// FuzzWriterData: a publisher's data messages are untrusted too (its onMetaData is decoded and
// copied into the recording): whatever they hold, the recording reads back with its metadata.
func FuzzWriterData(f *testing.F) {
	f.Add(metaMessage(f, publisherMeta...))
	f.Add(metaMessage(f, amf.Prop{Key: "encoder", Value: string(make([]byte, 300))}, amf.Prop{Key: "", Value: 1.0}))
	f.Add(dataMessage(f, "onMetaData", &amf.Object{Props: publisherMeta}))
	f.Add(dataMessage(f, "onCuePoint", "x", 1.0))
	f.Add(dataMessage(f, "@setDataFrame"))
	f.Add(dataMessage(f, "@clearDataFrame"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mf, w := newMemWriter(t, Options{IndexEntries: 4})
		for _, m := range []msg{{TagScript, 0, data}, {TagVideo, 0, keyFrame(1)}, {TagScript, 40, data}} {
			if err := w.WriteTag(m.typ, m.ts, m.payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r := openBytes(t, mf.snapshot())
		if m := r.Metadata(); m == nil || m.Get("metadatacreator") != creator {
			t.Fatalf("the reserved metadata does not decode: %+v", m)
		}
		checkTags(t, r, MaxTagPayload)
	})
}
