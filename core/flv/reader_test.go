package flv

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

func TestReaderFixtures(t *testing.T) {
	for _, fx := range readerFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			r, err := NewReader(bytesAt(fx.b), int64(len(fx.b)), ReaderOptions{})
			if !errors.Is(err, fx.openErr) || (err != nil) != (fx.openErr != nil) {
				t.Fatalf("NewReader: %v, want %v", err, fx.openErr)
			}
			if err != nil {
				return
			}
			n := 0
			c := r.Tags(r.DataOffset())
			for c.Next() {
				n++
				if tag := c.Tag(); len(tag.Payload) != int(tag.Size) {
					t.Fatalf("payload of %d bytes for a size of %d", len(tag.Payload), tag.Size)
				}
			}
			if n != fx.tags || !errors.Is(c.Err(), fx.cursorErr) || (c.Err() != nil) != (fx.cursorErr != nil) {
				t.Errorf("%d tags, %v; want %d, %v", n, c.Err(), fx.tags, fx.cursorErr)
			}
			kf := 0
			if m := r.Metadata(); m != nil {
				kf = len(m.Keyframes)
			}
			if kf != fx.keyframes {
				t.Errorf("%d index entries, want %d", kf, fx.keyframes)
			}
		})
	}
}

func fixture(t *testing.T, name string) []byte {
	for _, fx := range readerFixtures() {
		if fx.name == name {
			return fx.b
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

// SeekKeyframe gives the keyframe at or before t whether the file has a good index, a wrong
// one (discarded at first use) or none.
func TestSeekKeyframe(t *testing.T) {
	for _, name := range []string{"indexed", "index pointing at inter frames", "index outside the file", "no metadata"} {
		t.Run(name, func(t *testing.T) {
			r := openBytes(t, fixture(t, name))
			for _, at := range []uint32{0, 500, 999, 1000, 1700, 2000, 99_000} {
				k, err := r.SeekKeyframe(at)
				want := min(at/1000, 2) * 1000
				if err != nil || k.Timestamp != want || !r.checkEntry(k) {
					t.Errorf("SeekKeyframe(%d) = %+v, %v; want the keyframe at %d", at, k, err, want)
				}
			}
			if name == "index pointing at inter frames" && r.fileIndex != nil {
				t.Error("a wrong index was kept")
			}
		})
	}
}

func TestSeekAudioOnly(t *testing.T) {
	f, w := newMemWriter(t, Options{})
	writeAll(t, w, []msg{{TagAudio, 0, aacSeq}})
	for ms := 0; ms < 10_000; ms += 23 {
		if err := w.WriteTag(TagAudio, uint32(ms), audioFrame(50)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := openBytes(t, f.snapshot())
	if r.HasVideo() || !r.HasAudio() {
		t.Errorf("flags %#x for an audio-only recording", r.flags)
	}
	k, err := r.SeekKeyframe(5000)
	if err != nil || k.Timestamp > 5000 || k.Timestamp < 5000-23 {
		t.Fatalf("SeekKeyframe(5000) = %+v, %v", k, err)
	}
	h, _ := r.ReadTagHeader(k.Offset)
	if h.Type != TagAudio || h.Timestamp != k.Timestamp {
		t.Errorf("seek lands on %+v", h)
	}
}

// A recording cut short (crash): the last whole tag's timestamp is the duration, the
// half-written one ends the Cursor with ErrTruncated, and a seek past it still works.
func TestReaderCutRecording(t *testing.T) {
	s := stream{seconds: 15, fps: 25, gop: 25, audioMS: 23, frameLen: 300}
	f, w := newMemWriter(t, Options{})
	writeAll(t, w, s.messages(t))
	b := f.snapshot() // not closed
	r := openBytes(t, b)
	tags := readTags(t, r)
	lastWhole := tags[len(tags)-2].Timestamp
	cut := b[:len(b)-10] // into the last tag's payload
	r = openBytes(t, cut)
	c := r.Tags(r.DataOffset())
	n := 0
	for c.Next() {
		n++
	}
	if !errors.Is(c.Err(), ErrTruncated) || n != len(tags)-1 {
		t.Errorf("%d tags then %v, want %d then ErrTruncated", n, c.Err(), len(tags)-1)
	}
	if d := r.Duration(); d < time.Duration(lastWhole-100)*time.Millisecond || d > time.Duration(lastWhole)*time.Millisecond {
		t.Errorf("duration %v, last whole tag at %d ms", d, lastWhole)
	}
	if k, err := r.SeekKeyframe(60_000); err != nil || k.Timestamp < 13_000 {
		t.Errorf("seek past the end: %+v, %v", k, err)
	}
}

// A tag size claiming 16 MiB in a small file costs nothing: checked against the file before
// any allocation.
func TestReaderHostileSizeAllocatesNothing(t *testing.T) {
	b := fixture(t, "size field lies (16 MiB)")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		r := openBytes(t, b)
		c := r.Tags(r.DataOffset())
		for c.Next() {
		}
		r.SeekKeyframe(1000)
		r.Duration()
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 10*(cursorBuffer+16<<10) {
		t.Errorf("%d bytes allocated reading a 60-byte file 10 times", n)
	}
	// over the cap: refused even though the file is big enough
	big := cat(fileHeader(4, 9), tagBytes(TagAudio, 0, make([]byte, 5000)))
	r, err := NewReader(bytesAt(big), int64(len(big)), ReaderOptions{MaxTagSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Tags(r.DataOffset()); c.Next() || !errors.Is(c.Err(), ErrCorrupt) {
		t.Errorf("a tag over the cap: %v", c.Err())
	}
}

// The metadata sent to a player of a recording leaves out the index and the padding.
func TestAppendPlayerData(t *testing.T) {
	s := stream{seconds: 3, fps: 25, gop: 25, frameLen: 10}
	f, w := newMemWriter(t, Options{})
	writeAll(t, w, s.messages(t))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := openBytes(t, f.snapshot())
	p, err := r.Metadata().AppendPlayerData(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > 1024 {
		t.Errorf("player metadata of %d bytes", len(p))
	}
	var d amf.Decoder
	data, err := rtmpmsg.DecodeData(rtmpmsg.TypeDataAMF0, p, &d)
	if err != nil || data.Name != "onMetaData" || len(data.Args) != 1 {
		t.Fatalf("%+v, %v", data, err)
	}
	a := data.Args[0].(*amf.Array)
	m := &Metadata{Props: a.Assoc}
	if m.Get("keyframes") != nil || m.Get(paddingKey) != nil || m.Get("width") != 1280.0 || m.Get("duration") != 3.0 {
		t.Errorf("player metadata %+v", a.Assoc)
	}
}
