package sharedobject

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestStorePath(t *testing.T) {
	t.Parallel()
	s, err := NewStore("/data", "chat", "room 1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, want string }{
		{"users", "/data/chat/room%201/users.fso"},
		{"a/b c", "/data/chat/room%201/a/b%20c.fso"},
		{"ü/x.y_z-1", "/data/chat/room%201/%C3%BC/x.y_z-1.fso"},
		{"y/x.fso", "/data/chat/room%201/y/x.fso.fso"},
		{"%tmp-1", "/data/chat/room%201/%25tmp-1.fso"},
		{"", ""}, {"a/../b", ""}, {"./x", ""}, {"a//b", ""}, {"a/", ""}, {"x.fso/y", ""},
		{strings.Repeat("é", 40), ""},
	}
	for _, c := range cases {
		got, err := s.Path(c.name)
		if c.want == "" {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("%q: %q, %v", c.name, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := NewStore("/data", "..", "x"); !errors.Is(err, ErrBadName) {
		t.Fatal(err)
	}
}

func newStore(t testing.TB) *Store {
	s, err := NewStore(t.TempDir(), "app", "_definst_")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestPersistRestart(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	r := New(Config{ClientPersistence: true, Store: st})
	so, err := r.Get("scores/top", true)
	if err != nil {
		t.Fatal(err)
	}
	so.SetProperty("alice", 10.0)
	so.SetProperty("bob", "x")
	so.SetProperty("alice", 11.0)
	if !so.Dirty() {
		t.Fatal("not dirty")
	}
	if err := so.Flush(); err != nil {
		t.Fatal(err)
	}
	if so.Dirty() {
		t.Fatal("dirty after flush")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r2 := New(Config{ClientPersistence: true, Store: st})
	a := newSub(t, "a", false)
	handle(t, r2, a, "scores/top", true, use())
	got := a.take()
	want := []Event{{Type: EventUseSuccess}, {Type: EventChange, Pairs: []Pair{{"alice", 11.0}}},
		{Type: EventChange, Pairs: []Pair{{"bob", "x"}}}}
	if len(got) != 1 || got[0].version != 3 || !reflect.DeepEqual(got[0].events, want) {
		t.Fatalf("after restart: %#v", got)
	}
	handle(t, r2, a, "scores/top", true, reqChange("carol", true))
	if got := a.take(); got[0].version != 4 {
		t.Fatalf("version did not continue: %d", got[0].version)
	}
	if err := r2.Close(); err != nil { // Close writes what is unsaved
		t.Fatal(err)
	}
	snap, err := st.Load("scores/top")
	if err != nil || snap.version != 4 || len(snap.slots) != 3 {
		t.Fatalf("%+v %v", snap, err)
	}
}

func TestAutoFlush(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	r := New(Config{ClientPersistence: true, Store: st, FlushDelay: 20 * time.Millisecond})
	done := make(chan error, 10)
	r.afterAutoFlush = func(err error) { done <- err }
	so, _ := r.Get("o", true)
	start := time.Now()
	for i := range 100 {
		so.SetProperty("n", float64(i))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("auto-flush after %v", d)
	}
	snap, err := st.Load("o")
	if err != nil || snap.version != 100 || snap.slots[0].value != 99.0 {
		t.Fatalf("%+v %v", snap, err)
	}
	select {
	case <-done:
		t.Fatal("a second flush for one burst of changes")
	default:
	}
}

func TestPersistentDropAndReload(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	r := New(Config{ClientPersistence: true, Store: st, FlushDelay: time.Hour})
	a := newSub(t, "a", false)
	handle(t, r, a, "p", true, use(), reqChange("k", "v"))
	handle(t, r, a, "p", true, Event{Type: EventRelease})
	if r.Len() != 1 {
		t.Fatal("unsaved persistent object dropped")
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Fatal("saved, unused persistent object kept")
	}
	a.take()
	handle(t, r, a, "p", true, use())
	if got := a.take(); len(got) != 1 || got[0].version != 1 || len(got[0].events) != 2 {
		t.Fatalf("reload: %#v", got)
	}
}

func TestCorruptFile(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	slots := []*slot{{key: "a", enc0: []byte{5}}, {key: "b", enc0: []byte{1, 1}}}
	good := encodeFile(7, slots, 3, []tomb{{"c", 5}})
	old := encodeFileV1(7, slots)
	var bad [][]byte
	for _, g := range [][]byte{good, old} {
		if _, err := decodeFile(g); err != nil {
			t.Fatal(err)
		}
		flipped := bytes.Clone(g)
		flipped[len(flipped)-1] ^= 0xFF
		bad = append(bad, g[:10], g[:len(g)-1], append([]byte("XXXX"), g[4:]...), flipped, withCRC(append(bytes.Clone(g), 0)))
	}
	bad = append(bad, nil, withCRC(append([]byte{'F', 'S', 'O', 3}, good[4:]...)), withCRC(bytes.Clone(good[:headerLenV2-1])))
	for i, b := range bad {
		if _, err := decodeFile(b); !errors.Is(err, errCorrupt) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	p, _ := st.Path("c")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, good[:len(good)-2], 0o644)
	var log syncBuffer
	r := New(Config{ClientPersistence: true, Store: st, Logger: zerolog.New(&log)})
	so, err := r.Get("c", true)
	if err != nil || so.Size() != 0 || so.Version() != 0 {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(log.String(), "checksum mismatch") {
		t.Fatalf("log: %s", log.String())
	}
	so.SetProperty("x", 1.0) // usable, and saving replaces the corrupt file
	if err := so.Flush(); err != nil {
		t.Fatal(err)
	}
	if snap, err := st.Load("c"); err != nil || len(snap.slots) != 1 {
		t.Fatal(err)
	}
}

func FuzzDecodeFile(f *testing.F) {
	slots := []*slot{{key: "a", enc0: []byte{5}, ver: 2}, {key: "b", enc0: []byte{2, 0, 1, 'x'}, ver: 7}}
	f.Add(encodeFile(7, slots, 1, []tomb{{"c", 3}, {"d", 6}}))
	f.Add(encodeFileV1(7, slots))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeFile(b)
		if len(b) >= headerLen { // again with valid headers, so that the body parsers are reached
			for _, magic := range [][4]byte{fileMagic, fileMagicV1} {
				b = bytes.Clone(b)
				copy(b, magic[:])
				if snap, err := decodeFile(withCRC(b)); err == nil {
					// What loads encodes back to a file that loads the same.
					again, err := decodeFile(encodeFile(snap.version, snap.slots, snap.histFrom, snap.tombs))
					if err != nil || len(again.slots) != len(snap.slots) || len(again.tombs) != len(snap.tombs) {
						t.Fatalf("re-encoded file: %v", err)
					}
				}
			}
		}
	})
}

// withCRC fixes the checksum of a file image (at least 8 bytes).
func withCRC(b []byte) []byte {
	if len(b) >= 8 {
		binary.BigEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b[8:]))
	}
	return b
}

// encodeFileV1 writes format 1, as fmsgo did before the deleted-slot history, for tests that
// load old files.
func encodeFileV1(version uint32, slots []*slot) []byte {
	b := make([]byte, headerLen)
	copy(b, fileMagicV1[:])
	binary.BigEndian.PutUint32(b[8:], version)
	binary.BigEndian.PutUint32(b[12:], uint32(len(slots)))
	for _, s := range slots {
		b = append(appendKey(b, s.key), s.enc0...)
	}
	return withCRC(b)
}

func TestBadNameAndSweep(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	r := New(Config{ClientPersistence: true, Store: st})
	a := newSub(t, "a", false)
	handle(t, r, a, "../etc", true, use())
	if got := a.take(); len(got) != 1 || got[0].events[0].Code != CodeBadName {
		t.Fatalf("%#v", got)
	}
	if _, err := r.Get("a//b", true); !errors.Is(err, ErrBadName) {
		t.Fatal(err)
	}
	if so, err := r.Get("a//b", false); err != nil || so == nil { // only stored names are paths
		t.Fatal(err)
	}
	os.MkdirAll(st.Dir(), 0o755)
	left := filepath.Join(st.Dir(), "%tmp-123")
	os.WriteFile(left, []byte("torn"), 0o644)
	so, _ := r.Get("x", true)
	so.SetProperty("k", 1.0)
	if err := so.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary file left behind")
	}
}
