package flv

import (
	"errors"
	"math"
	"testing"
	"time"
)

func appendTo(t *testing.T, f *memFile, opts Options, s stream) {
	t.Helper()
	w, err := OpenAppend(f, int64(len(f.snapshot())), opts)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, s.messages(t))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// append continues the timeline after the last frame; appendWithGap leaves the gap; the index
// and the metadata cover both parts.
func TestAppend(t *testing.T) {
	part := stream{base: 100_000, seconds: 5, fps: 25, gop: 25, audioMS: 23, frameLen: 50}
	for _, tc := range []struct {
		gap   time.Duration
		start uint32
	}{{0, 5000}, {3 * time.Second, 8000}} {
		f, w := newMemWriter(t, Options{})
		writeAll(t, w, part.messages(t))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		second := part
		second.base = 7777
		appendTo(t, f, Options{AppendGap: tc.gap}, second)

		r := openBytes(t, f.snapshot())
		tags := readTags(t, r)
		n := len(part.messages(t)) // one tag per message, the metadata's included
		if len(tags) != 2*n-1 {    // the second part's onMetaData joins the first
			t.Fatalf("gap %v: %d tags, want %d", tc.gap, len(tags), 2*n-1)
		}
		if got := tags[n].Timestamp; got != tc.start {
			t.Errorf("gap %v: the appended part starts at %d ms, want %d", tc.gap, got, tc.start)
		}
		m := r.Metadata()
		want := float64(tc.start)/1000 + 5
		if math.Abs(m.Duration-want) > 0.05 || len(m.Keyframes) != 10 {
			t.Errorf("gap %v: duration %v (want %v), %d keyframes", tc.gap, m.Duration, want, len(m.Keyframes))
		}
		for _, k := range m.Keyframes {
			if !r.checkEntry(k) {
				t.Errorf("entry %+v is wrong", k)
			}
		}
		if m.Get("width") != 1280.0 {
			t.Error("publisher fields lost")
		}
	}
}

// Appending to a recording cut by a crash inside a tag: the half tag goes, the rest stays,
// and the file reads to its end.
func TestAppendAfterCrash(t *testing.T) {
	part := stream{seconds: 6, fps: 25, gop: 25, audioMS: 23, frameLen: 50}
	f, w := newMemWriter(t, Options{})
	writeAll(t, w, part.messages(t))
	crashed := f.snapshot() // never closed
	whole := len(readTags(t, openBytes(t, crashed)))
	crashed = append(crashed, tagBytes(TagVideo, 6000, keyFrame(100))[:60]...)
	f = &memFile{b: crashed}
	appendTo(t, f, Options{}, part)

	r := openBytes(t, f.snapshot())
	c := r.Tags(r.DataOffset())
	n := 0
	for c.Next() {
		n++
	}
	if c.Err() != nil || n != whole+len(part.messages(t))-1 {
		t.Errorf("%d tags then %v; want %d", n, c.Err(), whole+len(part.messages(t))-1)
	}
	for _, k := range r.Metadata().Keyframes {
		if !r.checkEntry(k) {
			t.Errorf("entry %+v is wrong", k)
		}
	}
}

// Another tool's file: its onMetaData is rewritten within its own size (index thinned to
// fit); a file without one is appended to without metadata.
func TestAppendForeignFile(t *testing.T) {
	for _, name := range []string{"indexed", "no metadata"} {
		b := fixture(t, name)
		before := len(readTags(t, openBytes(t, b)))
		f := &memFile{b: append([]byte(nil), b...)}
		appendTo(t, f, Options{}, stream{seconds: 2, fps: 10, gop: 10, frameLen: 5})
		out := f.snapshot()
		r := openBytes(t, out)
		tags := readTags(t, r)
		if len(tags) != before+21 { // the sequence header and 20 frames
			t.Errorf("%s: %d tags after append", name, len(tags))
		}
		if name == "indexed" {
			m := r.Metadata()
			if m == nil || m.Size != len(onMetaData(3, nums([]float64{0, 1, 2}), nums([]float64{0, 0, 0}))) {
				t.Fatalf("%s: metadata %+v changed size", name, m)
			}
			if math.Abs(m.Duration-5) > 0.15 {
				t.Errorf("%s: duration %v after appending 2 s to 3 s", name, m.Duration)
			}
		}
	}
}

func TestAppendRefusesNonFLV(t *testing.T) {
	f := &memFile{b: []byte("not a video file at all")}
	if _, err := OpenAppend(f, int64(len(f.b)), Options{}); !errors.Is(err, ErrNotFLV) {
		t.Errorf("OpenAppend: %v", err)
	}
	empty := &memFile{}
	w, err := OpenAppend(empty, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	openBytes(t, empty.snapshot())
}
