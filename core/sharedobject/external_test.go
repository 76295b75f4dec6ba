package sharedobject

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// memExternal is an External in memory; fail makes every call fail, refuse refuses names
// starting with "bad".
type memExternal struct {
	mu    sync.Mutex
	objs  map[string][]byte
	fail  bool
	saves int
}

func newMemExternal() *memExternal { return &memExternal{objs: map[string][]byte{}} }

func (m *memExternal) LoadSO(ctx context.Context, app, instance, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errors.New("store down")
	}
	if strings.HasPrefix(name, "bad") {
		return nil, fmt.Errorf("name %q: %w", name, fs.ErrInvalid)
	}
	b, ok := m.objs[app+"|"+instance+"|"+name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

func (m *memExternal) SaveSO(ctx context.Context, app, instance, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("store down")
	}
	m.objs[app+"|"+instance+"|"+name] = append([]byte(nil), data...)
	m.saves++
	return nil
}

// TestExternalStoreRestart: an object written through an external store is what a new
// registry of the same instance loads; another instance does not see it.
func TestExternalStoreRestart(t *testing.T) {
	t.Parallel()
	ext := newMemExternal()
	r := New(Config{ClientPersistence: true, Store: NewExternalStore(ext, "app", "i1", 0)})
	so, err := r.Get("scores/top", true)
	if err != nil {
		t.Fatal(err)
	}
	so.SetProperty("alice", 10.0)
	so.SetProperty("bob", "x")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if ext.saves != 1 {
		t.Fatalf("%d saves", ext.saves)
	}
	r2 := New(Config{ClientPersistence: true, Store: NewExternalStore(ext, "app", "i1", 0)})
	a := newSub(t, "a", false)
	handle(t, r2, a, "scores/top", true, use())
	got := a.take()
	want := []Event{{Type: EventUseSuccess}, {Type: EventChange, Pairs: []Pair{{"alice", 10.0}}},
		{Type: EventChange, Pairs: []Pair{{"bob", "x"}}}}
	if len(got) != 1 || got[0].version != 2 || !reflect.DeepEqual(got[0].events, want) {
		t.Fatalf("after restart: %#v", got)
	}
	other := New(Config{ClientPersistence: true, Store: NewExternalStore(ext, "app", "i2", 0)})
	so3, err := other.Get("scores/top", true)
	if err != nil || so3.Size() != 0 {
		t.Fatalf("another instance sees %d slots, %v", so3.Size(), err)
	}
}

// TestExternalStoreRefusals: a name the store refuses is SharedObject.BadName, a store that
// fails refuses the object (SharedObject.Load.Failed) instead of starting it empty.
func TestExternalStoreRefusals(t *testing.T) {
	t.Parallel()
	ext := newMemExternal()
	r := New(Config{ClientPersistence: true, Store: NewExternalStore(ext, "app", "i", 0)})
	for _, c := range []struct {
		name, code string
	}{{"bad1", CodeBadName}, {"a//b", CodeBadName}, {"../x", CodeBadName}} {
		a := newSub(t, "a", false)
		handle(t, r, a, c.name, true, use())
		if got := a.take(); len(got) != 1 || got[0].events[0].Code != c.code {
			t.Fatalf("%s: %#v, want %s", c.name, got, c.code)
		}
	}
	ext.mu.Lock()
	ext.fail = true
	ext.mu.Unlock()
	a := newSub(t, "a", false)
	handle(t, r, a, "p", true, use())
	if got := a.take(); len(got) != 1 || got[0].events[0].Code != CodeLoadFailed {
		t.Fatalf("failing store: %#v", got)
	}
	if _, err := r.Get("p", true); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("Get from a failing store: %v", err)
	}
}

// TestFileStoreSharesFiles: sostore.file's FileStore and the default Store read each other's
// files (same layout, same format), DeleteSO is idempotent and SOUsage counts the files.
func TestFileStoreSharesFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fst := NewFileStore(dir)
	r := New(Config{ClientPersistence: true, Store: NewExternalStore(fst, "app", "room 1", 0)})
	so, _ := r.Get("a/b", true)
	so.SetProperty("k", "v")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(dir, "app", "room 1")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load("a/b")
	if err != nil || snap == nil || len(snap.slots) != 1 || snap.slots[0].value != "v" {
		t.Fatalf("default store reads %+v, %v", snap, err)
	}
	r2 := New(Config{ClientPersistence: true, Store: st})
	so2, _ := r2.Get("a/b", true)
	so2.SetProperty("k2", 2.0)
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := fst.LoadSO(context.Background(), "app", "room 1", "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if snap, err := decodeFile(b); err != nil || len(snap.slots) != 2 {
		t.Fatalf("FileStore reads %+v, %v", snap, err)
	}
	used, err := fst.SOUsage(context.Background(), "app")
	if err != nil || used != int64(len(b)) {
		t.Fatalf("usage %d, %v; file of %d bytes", used, err, len(b))
	}
	for range 2 {
		if err := fst.DeleteSO(context.Background(), "app", "room 1", "a/b"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fst.LoadSO(context.Background(), "app", "room 1", "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := fst.LoadSO(context.Background(), "app", "..", "x"); !errors.Is(err, fs.ErrInvalid) || !errors.Is(err, ErrBadName) {
		t.Fatalf("bad instance: %v", err)
	}
	if err := fst.SaveSO(context.Background(), "app", "i", strings.Repeat("n", 250), nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("long name: %v", err)
	}
	if _, err := os.Stat(st.Dir()); err != nil {
		t.Fatal(err)
	}
}

// TestFileStoreSweeps: a temporary file a crash left is removed at the folder's first save.
func TestFileStoreSweeps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, _ := NewStore(dir, "app", "i")
	if err := os.MkdirAll(st.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	left := st.Dir() + "/%tmp-123"
	if err := os.WriteFile(left, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fst := NewFileStore(dir)
	if err := fst.SaveSO(context.Background(), "app", "i", "o", encodeFile(1, nil, 1, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
}
