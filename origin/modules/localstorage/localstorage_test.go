package localstorage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

var ctx = context.Background()

func newModule(t *testing.T) *Module {
	t.Helper()
	m, err := New(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func write(t *testing.T, m *Module, name, content string) {
	t.Helper()
	w, err := m.Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, m *Module, name string) (string, error) {
	t.Helper()
	f, err := m.Open(ctx, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func list(t *testing.T, m *Module, dir string) []string {
	t.Helper()
	names, err := m.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestCreateShowsOnlyAtClose: a file being written is invisible (Open, List) until Close, which
// replaces the previous one whole; List is non-recursive; Remove is idempotent.
func TestCreateShowsOnlyAtClose(t *testing.T) {
	t.Parallel()
	m := newModule(t)
	if names := list(t, m, "."); names != nil { // the folder does not exist yet
		t.Fatalf("empty store lists %v", names)
	}
	if _, err := read(t, m, "a/b.flv"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open before any write: %v", err)
	}
	w, err := m.Create(ctx, "live/s1/rec.flv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "first")
	if _, err := read(t, m, "live/s1/rec.flv"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("visible before Close: %v", err)
	}
	if names := list(t, m, "live/s1"); len(names) != 0 {
		t.Fatalf("listed while written: %v", names)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	w2, _ := m.Create(ctx, "live/s1/rec.flv")
	io.WriteString(w2, "second")
	if got, _ := read(t, m, "live/s1/rec.flv"); got != "first" {
		t.Fatalf("while replaced: %q", got)
	}
	w2.Close()
	if got, _ := read(t, m, "live/s1/rec.flv"); got != "second" {
		t.Fatalf("after the replacement: %q", got)
	}
	write(t, m, "live/s1/a.flv", "a")
	write(t, m, "top.txt", "t")
	if got := list(t, m, "live/s1"); !reflect.DeepEqual(got, []string{"a.flv", "rec.flv"}) {
		t.Fatalf("list: %v", got)
	}
	if got := list(t, m, "."); !reflect.DeepEqual(got, []string{"top.txt"}) {
		t.Fatalf("list of the top (folders are not listed): %v", got)
	}
	if got := list(t, m, "nope"); got != nil {
		t.Fatalf("missing folder: %v", got)
	}
	for range 2 {
		if err := m.Remove(ctx, "live/s1/a.flv"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := read(t, m, "live/s1/a.flv"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
}

// TestFailedWriteDiscards: after a Write failed, Close publishes nothing, returns the error
// and leaves no temporary file.
func TestFailedWriteDiscards(t *testing.T) {
	t.Parallel()
	m := newModule(t)
	write(t, m, "x.flv", "old")
	w, err := m.Create(ctx, "x.flv")
	if err != nil {
		t.Fatal(err)
	}
	w.(*writer).f.Close() // the disk goes away
	if _, err := w.Write([]byte("new")); err == nil {
		t.Fatal("write to a closed file succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed Write succeeded")
	}
	if got, _ := read(t, m, "x.flv"); got != "old" {
		t.Fatalf("file after a failed write: %q", got)
	}
	entries, _ := os.ReadDir(m.Root)
	if len(entries) != 1 {
		t.Fatalf("left in the folder: %v", entries)
	}
}

// TestNamesRefused: names that are not slash-separated relative paths inside the folder are
// refused with fs.ErrInvalid by every method, before the disk is touched.
func TestNamesRefused(t *testing.T) {
	t.Parallel()
	m := newModule(t)
	bad := []string{"", ".", "..", "../x", "../../etc/passwd", "/etc/passwd", "a/../../x", "a/../x", "./a",
		"a/", "a//b", `a\..\..\x`, `..\x`, `C:\x`, "a\x00b", "\x00", ".~tmp-abc", "d/.~tmp-x/y"}
	for _, name := range bad {
		if _, err := m.Open(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Open(%q): %v", name, err)
		}
		if _, err := m.Create(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Create(%q): %v", name, err)
		}
		if err := m.Remove(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Remove(%q): %v", name, err)
		}
		if _, err := m.OpenFile(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("OpenFile(%q): %v", name, err)
		}
		if name != "" && name != "." {
			if _, err := m.List(ctx, name); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("List(%q): %v", name, err)
			}
		}
	}
	if _, err := os.Stat(m.Root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the folder was made for refused names: %v", err)
	}
}

// TestSymlinkOutside: a symbolic link inside the folder to a folder outside it is not
// followed out, for reading, writing, listing or removing.
func TestSymlinkOutside(t *testing.T) {
	t.Parallel()
	m := newModule(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, m, "in.txt", "i")
	if err := os.Symlink(outside, filepath.Join(m.Root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, m, "link/secret"); err == nil {
		t.Fatal("read through a link out of the folder")
	}
	if _, err := m.Create(ctx, "link/planted"); err == nil {
		t.Fatal("created through a link out of the folder")
	}
	if _, err := m.List(ctx, "link"); err == nil {
		t.Fatal("listed through a link out of the folder")
	}
	if f, err := m.OpenFile(ctx, "link/rec.flv"); err == nil {
		f.Close()
		t.Fatal("opened a recording through a link out of the folder")
	}
	_ = m.Remove(ctx, "link/secret")
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 || entries[0].Name() != "secret" {
		t.Fatalf("outside folder now holds %v", entries)
	}
	if got := list(t, m, "."); !reflect.DeepEqual(got, []string{"in.txt"}) {
		t.Fatalf("the link is listed: %v", got)
	}
}

// TestProvision: root defaults to DATA/media, a relative one is the config file's folder's.
func TestProvision(t *testing.T) {
	t.Parallel()
	info, ok := plugin.Lookup("storage.local")
	if !ok {
		t.Fatal("storage.local not registered")
	}
	m := info.New().(*Module)
	if err := m.Provision(plugin.Context{DataDir: "/srv/data"}); err != nil || m.Root != "/srv/data/media" {
		t.Fatalf("default root %q, %v", m.Root, err)
	}
	m = &Module{Root: "rec"}
	if err := m.Provision(plugin.Context{DataDir: "/srv/data", ConfigDir: "/etc/fmsgo"}); err != nil || m.Root != "/etc/fmsgo/rec" {
		t.Fatalf("relative root %q, %v", m.Root, err)
	}
	if err := new(Module).Provision(plugin.Context{}); err == nil {
		t.Fatal("no root and no data folder accepted")
	}
}

// TestOpenFileRecords: OpenFile makes the folders, is visible under its name at once (listed,
// readable while open), writes at offsets, keeps the content when opened again (append) and
// truncates on demand (record); a folder is not a file.
func TestOpenFileRecords(t *testing.T) {
	t.Parallel()
	m := newModule(t)
	f, err := m.OpenFile(ctx, "live/streams/_definst_/sub/rec.flv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("world"), 6); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello "), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, m, "live/streams/_definst_/sub/rec.flv"); err != nil || got != "hello world" {
		t.Fatalf("read while recording: %q, %v", got, err)
	}
	if got := list(t, m, "live/streams/_definst_/sub"); !reflect.DeepEqual(got, []string{"rec.flv"}) {
		t.Fatalf("listed %v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = m.OpenFile(ctx, "live/streams/_definst_/sub/rec.flv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != 11 {
		t.Fatalf("reopened: %v, %v", st, err)
	}
	b := make([]byte, 5)
	if _, err := f.ReadAt(b, 6); err != nil || string(b) != "world" {
		t.Fatalf("ReadAt %q, %v", b, err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Fatalf("size after Truncate(0): %d", st.Size())
	}
	if _, err := m.OpenFile(ctx, "live/streams"); !errors.Is(err, fs.ErrInvalid) && err == nil {
		t.Fatal("a folder opened as a recording")
	}
}
