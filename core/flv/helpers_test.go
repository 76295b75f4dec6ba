package flv

import (
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// memFile is an in-memory File: what was written (not what is buffered in a Writer) is what a
// reader, or a crash, sees.
type memFile struct {
	mu    sync.Mutex
	b     []byte
	syncs int
	fail  error // returned by writes once set
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	if need := int(off) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	return nil
}

func (m *memFile) Truncate(n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < int64(len(m.b)) {
		m.b = m.b[:n]
	}
	return nil
}

// snapshot is a copy of the file as a crash would leave it.
func (m *memFile) snapshot() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.b...)
}

type bytesAt []byte

func (b bytesAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func openBytes(t testing.TB, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytesAt(b), int64(len(b)), ReaderOptions{})
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

// Synthetic media in the shape of origin/client_test.go's: an AVC and an AAC sequence header,
// then frames whose first bytes say what they are.
var (
	avcSeq = []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x28, 0xFF}
	aacSeq = []byte{0xAF, 0, 0x12, 0x10}
)

func keyFrame(n int) []byte   { return frame(0x17, n) }
func interFrame(n int) []byte { return frame(0x27, n) }
func audioFrame(n int) []byte { return append([]byte{0xAF, 1}, make([]byte, n)...) }

func frame(first byte, n int) []byte {
	return append([]byte{first, 1, 0, 0, 0}, make([]byte, n)...)
}

// metaMessage is a publisher's "@setDataFrame", "onMetaData", {...} data message.
func metaMessage(t testing.TB, props ...amf.Prop) []byte {
	t.Helper()
	b := amf.AppendString0(nil, "@setDataFrame")
	b = amf.AppendString0(b, "onMetaData")
	var e amf.Encoder
	b, err := e.AppendAMF0(b, &amf.Array{ECMA: true, Assoc: props})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dataMessage(t testing.TB, name string, args ...any) []byte {
	t.Helper()
	b := amf.AppendString0(nil, name)
	var e amf.Encoder
	for _, a := range args {
		var err error
		if b, err = e.AppendAMF0(b, a); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

var publisherMeta = []amf.Prop{
	{Key: "width", Value: 1280.0}, {Key: "height", Value: 720.0}, {Key: "framerate", Value: 25.0},
	{Key: "videodatarate", Value: 2500.0}, {Key: "audiodatarate", Value: 128.0},
	{Key: "videocodecid", Value: 7.0}, {Key: "audiocodecid", Value: 10.0},
	{Key: "encoder", Value: "obs-output module (libobs version 30.0.0)"},
	{Key: "duration", Value: 0.0}, {Key: "nested", Value: &amf.Object{}},
}

// stream describes a synthetic live stream.
type stream struct {
	base     uint32 // first timestamp (a live stream's are not 0)
	seconds  int
	fps      int
	gop      int // frames per keyframe
	audioMS  int // audio frame interval, 0 for none
	frameLen int
}

type msg struct {
	typ     uint8
	ts      uint32
	payload []byte
}

// messages are the stream's messages in the order a hub delivers them: metadata, sequence
// headers, then interleaved frames.
func (s stream) messages(t testing.TB) []msg {
	out := []msg{{TagScript, s.base, metaMessage(t, publisherMeta...)}, {TagVideo, s.base, avcSeq}}
	if s.audioMS > 0 {
		out = append(out, msg{TagAudio, s.base, aacSeq})
	}
	frames := s.seconds * s.fps
	nextAudio := 0
	for i := 0; i < frames; i++ {
		ms := i * 1000 / s.fps
		for s.audioMS > 0 && nextAudio <= ms {
			out = append(out, msg{TagAudio, s.base + uint32(nextAudio), audioFrame(s.frameLen / 8)})
			nextAudio += s.audioMS
		}
		p := interFrame(s.frameLen)
		if i%s.gop == 0 {
			p = keyFrame(s.frameLen)
		}
		out = append(out, msg{TagVideo, s.base + uint32(ms), p})
	}
	return out
}

func writeAll(t testing.TB, w *Writer, msgs []msg) {
	t.Helper()
	for _, m := range msgs {
		if err := w.WriteTag(m.typ, m.ts, m.payload); err != nil {
			t.Fatalf("WriteTag(%d, %d): %v", m.typ, m.ts, err)
		}
	}
}

// readTags reads every tag of a file, failing on any error.
func readTags(t testing.TB, r *Reader) []Tag {
	t.Helper()
	var out []Tag
	c := r.Tags(r.DataOffset())
	for c.Next() {
		tag := c.Tag()
		tag.Payload = append([]byte(nil), tag.Payload...)
		out = append(out, tag)
	}
	if err := c.Err(); err != nil && !errors.Is(err, ErrTruncated) {
		t.Fatalf("reading tags: %v", err)
	}
	return out
}
