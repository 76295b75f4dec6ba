package vod

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// dirStorage is a plugin.Storage over a folder that only reads (what players need).
type dirStorage string

func (d dirStorage) Open(_ context.Context, name string) (fs.File, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}
func (dirStorage) Create(context.Context, string) (io.WriteCloser, error) { return nil, errReadOnly }
func (dirStorage) OpenFile(context.Context, string) (plugin.File, error)  { return nil, errReadOnly }
func (dirStorage) Remove(context.Context, string) error                   { return errReadOnly }
func (dirStorage) List(context.Context, string) ([]string, error)         { return nil, errReadOnly }

var errReadOnly = errors.New("read-only test storage")

var (
	avcSeq = []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x28, 0xFF}
	aacSeq = []byte{0xAF, 0, 0x12, 0x10}
)

// frame is a video payload tagged with its timestamp.
func frame(ts uint32, key bool, size int) []byte {
	b := make([]byte, max(size, 9))
	b[0], b[1] = 0x27, 1
	if key {
		b[0] = 0x17
	}
	b[5], b[6], b[7], b[8] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	return b
}

// writeFLV records secs seconds into dir/name with the Writer: 25 video frames a second (a
// keyframe every gop frames, of frameBytes) and an audio frame every 40 ms.
func writeFLV(t testing.TB, dir, name string, secs, gop, frameBytes int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := flv.NewWriter(f, flv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.WriteTag(flv.TagVideo, 0, avcSeq))
	must(t, w.WriteTag(flv.TagAudio, 0, aacSeq))
	for i := 0; i < secs*25; i++ {
		ts := uint32(i * 40)
		must(t, w.WriteTag(flv.TagVideo, ts, frame(ts, i%gop == 0, frameBytes)))
		must(t, w.WriteTag(flv.TagAudio, ts, []byte{0xAF, 1, byte(i), byte(i >> 8)}))
	}
	must(t, w.Close())
	return path
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// delivered is one thing a player sent.
type delivered struct {
	kind    string // "media", "status", "event"
	typeID  uint8
	ts      uint32
	key     bool
	seq     bool
	payload []byte
	code    string
	event   uint16
}

// sink records what a player sends; refuse makes it refuse every n-th delivery.
type sink struct {
	mu      sync.Mutex
	got     []delivered
	refuse  int
	calls   int
	changed chan struct{}
}

func newSink() *sink { return &sink{changed: make(chan struct{}, 1)} }

func (s *sink) add(d delivered) {
	s.got = append(s.got, d)
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *sink) full() bool {
	s.calls++
	return s.refuse > 0 && s.calls%s.refuse == 0
}

func (s *sink) Deliver(p *media.Packet, ts uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full() {
		return false
	}
	s.add(delivered{kind: "media", typeID: p.TypeID, ts: ts, key: p.Keyframe, seq: p.SeqHeader, payload: append([]byte(nil), p.Payload...)})
	p.Release()
	return true
}

func (s *sink) Status(info *amf.Object) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full() {
		return false
	}
	s.add(delivered{kind: "status", code: info.String("code")})
	return true
}

func (s *sink) Event(ev uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full() {
		return false
	}
	s.add(delivered{kind: "event", event: ev})
	return true
}

func (s *sink) Flush() {}

// snapshot is a copy of what was sent so far.
func (s *sink) snapshot() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

// waitFor waits until cond holds on what was sent, or fails after bound.
func (s *sink) waitFor(t testing.TB, bound time.Duration, what string, cond func([]delivered) bool) []delivered {
	t.Helper()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		got := s.snapshot()
		if cond(got) {
			return got
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; got %d messages", bound, what, len(got))
		}
	}
}

func hasStatus(code string) func([]delivered) bool {
	return func(got []delivered) bool {
		for _, d := range got {
			if d.kind == "status" && d.code == code {
				return true
			}
		}
		return false
	}
}

func stopStatus() *amf.Object {
	return &amf.Object{Props: []amf.Prop{{Key: "level", Value: "status"}, {Key: "code", Value: "NetStream.Play.Stop"}}}
}

func status(code string) *amf.Object {
	return &amf.Object{Props: []amf.Prop{{Key: "level", Value: "status"}, {Key: "code", Value: code}}}
}

// fastConfig sends a whole short file at once (its lead is longer than the file).
func fastConfig() Config { return Config{Lead: time.Hour, BlockBytes: 4 << 10} }

// play opens name in a new library over dir and starts a player into a new sink.
func play(t testing.TB, lib *Library, dir, name string, req Request) (*Player, *sink) {
	t.Helper()
	f, err := lib.Open(context.Background(), dirStorage(dir), name)
	if err != nil {
		t.Fatal(err)
	}
	if req.Stop == nil {
		req.Stop = stopStatus()
	}
	req.Log = zerolog.Nop()
	p, err := NewPlayer(f, req)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	s := newSink()
	p.Start(s)
	t.Cleanup(p.Stop)
	return p, s
}

// media keeps the audio and video frames (not sequence headers, not data).
func mediaOf(got []delivered) []delivered {
	var out []delivered
	for _, d := range got {
		if d.kind == "media" && (d.typeID == 8 || d.typeID == 9) && !d.seq {
			out = append(out, d)
		}
	}
	return out
}
