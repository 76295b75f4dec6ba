package flv

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

func newMemWriter(t testing.TB, opts Options) (*memFile, *Writer) {
	t.Helper()
	f := &memFile{}
	w, err := NewWriter(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, w
}

// A recording reads back tag for tag, rebased to 0, with a reserved onMetaData that holds the
// duration, the size, the publisher's fields and an index of every keyframe.
func TestWriterRoundTrip(t *testing.T) {
	s := stream{base: 100_000, seconds: 20, fps: 25, gop: 50, audioMS: 23, frameLen: 200}
	f, w := newMemWriter(t, Options{})
	msgs := s.messages(t)
	writeAll(t, w, msgs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := f.snapshot()
	r := openBytes(t, b)
	if !r.HasAudio() || !r.HasVideo() {
		t.Errorf("header flags %#x", r.flags)
	}
	tags := readTags(t, r)
	if got, want := len(tags), len(msgs); got != want { // the publisher's metadata became the reserved tag
		t.Fatalf("%d tags, want %d", got, want)
	}
	for i, m := range msgs[1:] { // the publisher's metadata went into the reserved tag
		tag := tags[i+1]
		if tag.Type != m.typ || tag.Timestamp != m.ts-s.base || !bytes.Equal(tag.Payload, m.payload) {
			t.Fatalf("tag %d: type %d ts %d, want %d ts %d", i+1, tag.Type, tag.Timestamp, m.typ, m.ts-s.base)
		}
	}
	m := r.Metadata()
	if m == nil || m.Offset != r.DataOffset() {
		t.Fatalf("metadata %+v", m)
	}
	if math.Abs(m.Duration-20) > 0.05 {
		t.Errorf("duration %v, want 20", m.Duration)
	}
	if got := m.Get("filesize"); got != float64(len(b)) {
		t.Errorf("filesize %v, want %d", got, len(b))
	}
	for _, k := range []string{"width", "height", "framerate", "encoder", "videocodecid", "audiocodecid"} {
		if m.Get(k) == nil {
			t.Errorf("publisher's %s not copied", k)
		}
	}
	if m.Get("nested") != nil {
		t.Error("an object was copied from the publisher's metadata")
	}
	if len(m.Keyframes) != 10 {
		t.Fatalf("%d keyframes indexed, want 10", len(m.Keyframes))
	}
	for i, k := range m.Keyframes {
		if k.Timestamp != uint32(i*2000) || !r.checkEntry(k) {
			t.Errorf("keyframe %d: %+v does not point to the keyframe at %d ms", i, k, i*2000)
		}
	}
	if d := r.Duration(); d != 20*time.Second {
		t.Errorf("reader duration %v", d)
	}
}

// The metadata is rewritten while recording: a file read before Close already says how long
// it is and where its keyframes are.
func TestWriterRewritesMetadataWhileRecording(t *testing.T) {
	s := stream{seconds: 25, fps: 25, gop: 25, frameLen: 100}
	f, w := newMemWriter(t, Options{})
	writeAll(t, w, s.messages(t))
	r := openBytes(t, f.snapshot()) // not closed: what a crash now would leave
	m := r.Metadata()
	if m == nil || m.Duration < 20 || len(m.Keyframes) < 20 {
		t.Fatalf("metadata before Close: %+v", m)
	}
	for _, k := range m.Keyframes {
		if !r.checkEntry(k) {
			t.Fatalf("entry %+v points past what was written", k)
		}
	}
}

// Past its cap the index is thinned, not cut: it still covers the whole recording, fits the
// reservation, and a seek still finds the nearest keyframe.
func TestIndexThinning(t *testing.T) {
	s := stream{seconds: 200, fps: 10, gop: 10, frameLen: 10}
	f, w := newMemWriter(t, Options{IndexEntries: 16})
	for i, m := range s.messages(t) {
		if err := w.WriteTag(m.typ, m.ts, m.payload); err != nil {
			t.Fatal(err)
		}
		checkSlot(t, f, w, i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSlot(t, f, w, -1)
	r := openBytes(t, f.snapshot())
	kf := r.Metadata().Keyframes
	if len(kf) > 16 || len(kf) < 4 {
		t.Fatalf("%d entries for a cap of 16", len(kf))
	}
	if kf[0].Timestamp != 0 || kf[len(kf)-1].Timestamp < 150_000 {
		t.Errorf("index covers %d..%d ms of 200 s", kf[0].Timestamp, kf[len(kf)-1].Timestamp)
	}
	for _, at := range []uint32{0, 999, 1000, 77_500, 199_999} {
		k, err := r.SeekKeyframe(at)
		if err != nil || k.Timestamp != at/1000*1000 || !r.checkEntry(k) {
			t.Errorf("SeekKeyframe(%d) = %+v, %v", at, k, err)
		}
	}
}

func TestIndexThinsToHalf(t *testing.T) {
	x := NewIndex(8)
	for i := range 1000 {
		x.Add(Keyframe{Timestamp: uint32(i * 40), Offset: int64(i * 100)})
		if x.Len() > 8 {
			t.Fatalf("%d entries after %d adds", x.Len(), i+1)
		}
	}
	e := x.Entries()
	if e[0].Timestamp != 0 || e[len(e)-1].Timestamp < 999*40/2 {
		t.Errorf("index %v does not span the adds", e)
	}
	x.Add(Keyframe{Timestamp: 1, Offset: 1}) // backwards: ignored
	if last, _ := x.Last(); last.Timestamp == 1 {
		t.Error("a keyframe going back in time was indexed")
	}
}

func TestWriterLimits(t *testing.T) {
	s := stream{seconds: 10, fps: 25, gop: 25, audioMS: 23, frameLen: 100}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"duration", Options{MaxDuration: 4 * time.Second}},
		{"size", Options{MaxSize: 60_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, w := newMemWriter(t, tc.opts)
			var limitAt int
			for i, m := range s.messages(t) {
				err := w.WriteTag(m.typ, m.ts, m.payload)
				if errors.Is(err, ErrLimit) {
					limitAt = i
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if limitAt == 0 {
				t.Fatal("no ErrLimit")
			}
			if err := w.WriteTag(TagAudio, 0, audioFrame(1)); !errors.Is(err, ErrLimit) {
				t.Errorf("after the limit: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			b := f.snapshot()
			if tc.opts.MaxSize > 0 && int64(len(b)) > tc.opts.MaxSize {
				t.Errorf("file of %d bytes over a limit of %d", len(b), tc.opts.MaxSize)
			}
			r := openBytes(t, b)
			if tc.opts.MaxDuration > 0 && (r.Duration() > tc.opts.MaxDuration+50*time.Millisecond || r.Duration() < tc.opts.MaxDuration-100*time.Millisecond) {
				t.Errorf("duration %v for a limit of %v", r.Duration(), tc.opts.MaxDuration)
			}
			readTags(t, r)
		})
	}
}

// What a crash leaves: everything before the last keyframe is in the file; fsyncs follow the
// policy.
func TestWriterFlushAndSyncPolicy(t *testing.T) {
	s := stream{seconds: 30, fps: 25, gop: 50, frameLen: 100}
	for _, tc := range []struct {
		policy    SyncPolicy
		min, max_ int
	}{
		{SyncKeyframe, 14, 15}, // 15 keyframes: one fsync before each but the first (+ none yet for Close)
		{SyncInterval, 3, 4},   // at 0, 10, 20 s (and 30 s when the last frame is on time)
		{SyncClose, 0, 0},
	} {
		f, w := newMemWriter(t, Options{Sync: tc.policy})
		msgs := s.messages(t)
		writeAll(t, w, msgs)
		if f.syncs < tc.min || f.syncs > tc.max_ {
			t.Errorf("policy %d: %d fsyncs, want %d..%d", tc.policy, f.syncs, tc.min, tc.max_)
		}
		lastKey := 0
		for i, m := range msgs {
			if m.typ == TagVideo && bytes.Equal(m.payload, keyFrame(s.frameLen)) {
				lastKey = i
			}
		}
		got := len(readTags(t, openBytes(t, f.snapshot())))
		if got < lastKey { // tags before the last keyframe (the metadata tag stands for msgs[0])
			t.Errorf("policy %d: %d tags in the file, want at least %d", tc.policy, got, lastKey)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if tc.policy == SyncClose && f.syncs != 1 {
			t.Errorf("SyncClose: %d fsyncs after Close", f.syncs)
		}
	}
}

// Data messages: the publisher's metadata goes into the reserved tag, sample access is not
// recorded, other data (cue points) is, at its place in time.
func TestWriterDataMessages(t *testing.T) {
	f, w := newMemWriter(t, Options{})
	cue := dataMessage(t, "onCuePoint", "chapter 2")
	for _, m := range []msg{
		{TagScript, 500, dataMessage(t, "|RtmpSampleAccess", true, true)},
		{TagVideo, 500, avcSeq},
		{TagVideo, 500, keyFrame(10)},
		{TagScript, 700, metaMessage(t, publisherMeta[:2]...)},
		{TagScript, 900, cue},
		{TagVideo, 1000, interFrame(10)},
		{TagScript, 1000, []byte{0x05}}, // not a named data message
	} {
		if err := w.WriteTag(m.typ, m.ts, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := openBytes(t, f.snapshot())
	tags := readTags(t, r)
	var types []uint8
	for _, tag := range tags {
		types = append(types, tag.Type)
	}
	if !bytes.Equal(types, []uint8{TagScript, TagVideo, TagVideo, TagScript, TagVideo}) {
		t.Fatalf("tag types %v", types)
	}
	if !bytes.Equal(tags[3].Payload, cue) || tags[3].Timestamp != 400 {
		t.Errorf("cue point at %d: %q", tags[3].Timestamp, tags[3].Payload)
	}
	if r.Metadata().Get("width") != 1280.0 {
		t.Error("publisher metadata sent mid-stream not in the reserved tag")
	}
}

// RTMP timestamps wrap at 2^32 ms (49.7 days): the file's keep counting.
func TestWriterTimestampWrap(t *testing.T) {
	f, w := newMemWriter(t, Options{})
	base := uint32(math.MaxUint32 - 1000)
	for i := range 100 {
		p := interFrame(10)
		if i%25 == 0 {
			p = keyFrame(10)
		}
		if err := w.WriteTag(TagVideo, base+uint32(i*40), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, tag := range readTags(t, openBytes(t, f.snapshot()))[1:] {
		if tag.Timestamp != uint32(i*40) {
			t.Fatalf("tag %d at %d ms, want %d", i, tag.Timestamp, i*40)
		}
	}
}

func TestWriterWriteErrorIsSticky(t *testing.T) {
	f, w := newMemWriter(t, Options{BufferSize: 100})
	f.fail = errors.New("disk full")
	err := w.WriteTag(TagVideo, 0, keyFrame(200))
	if err == nil {
		t.Fatal("a failed write was not reported")
	}
	if err2 := w.WriteTag(TagVideo, 40, interFrame(10)); err2 == nil {
		t.Error("writes go on after a write error")
	}
	if w.Close() == nil {
		t.Error("Close hides the write error")
	}
	if !errors.Is(w.Close(), ErrClosed) {
		t.Error("second Close")
	}
}

// checkSlot: the reserved tag in the file is the last metadata encoded, byte for byte, though
// rewrites write only its head (the index grows and shrinks as it is thinned).
func checkSlot(t *testing.T, f *memFile, w *Writer, i int) {
	t.Helper()
	b := f.snapshot()
	if !bytes.Equal(b[w.slotOff:w.slotOff+int64(w.slotSize)], w.metaBuf[:w.slotSize]) {
		t.Fatalf("after message %d the reserved metadata differs from its last encoding", i)
	}
}

// WritePacket (a hub's packets, classified once) and WriteTag write the same file.
func TestWritePacketMatchesWriteTag(t *testing.T) {
	msgs := stream{seconds: 3, fps: 25, gop: 25, audioMS: 23, frameLen: 30}.messages(t)
	f1, w1 := newMemWriter(t, Options{})
	writeAll(t, w1, msgs)
	f2, w2 := newMemWriter(t, Options{})
	for _, m := range msgs {
		p := media.NewPacket(m.typ, m.ts, m.payload)
		if err := w2.WritePacket(p); err != nil {
			t.Fatal(err)
		}
		p.Release()
	}
	for _, w := range []*Writer{w1, w2} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(f1.snapshot(), f2.snapshot()) {
		t.Error("WritePacket and WriteTag wrote different files")
	}
}
