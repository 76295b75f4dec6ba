package appfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"/", "/", true}, {"", "/", true}, {"a.txt", "/a.txt", true}, {"/a//b/", "/a/b", true},
		{"/a/../b", "", false}, {"./a", "", false}, {"a\\b", "", false}, {"a\x00", "", false}, {"/..", "", false},
	} {
		got, ok := Clean(c.in)
		if got != c.out || ok != c.ok {
			t.Errorf("Clean(%q) = %q, %v; want %q, %v", c.in, got, ok, c.out, c.ok)
		}
	}
}

// TestSandboxEscapes: names and links that leave the app folder are refused, links inside work.
func TestSandboxEscapes(t *testing.T) {
	root := t.TempDir()
	app, outside := filepath.Join(root, "app"), filepath.Join(root, "secret")
	for _, d := range []string{app, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(outside, "key"), []byte("k"), 0o600))
	must(t, os.WriteFile(filepath.Join(app, "in.txt"), []byte("hello"), 0o644))
	must(t, os.Symlink("../secret/key", filepath.Join(app, "rel-out")))
	must(t, os.Symlink(filepath.Join(outside, "key"), filepath.Join(app, "abs-out")))
	must(t, os.Symlink("../secret", filepath.Join(app, "dir-out")))
	must(t, os.Symlink("in.txt", filepath.Join(app, "inside")))
	s, err := New(app, nil, nil)
	must(t, err)
	defer s.Close()
	for _, name := range []string{"/rel-out", "/abs-out", "/dir-out/key", "/../secret/key", "/a\\b", "/x\x00"} {
		if _, err := s.OpenFile(name, os.O_RDONLY); err == nil {
			t.Errorf("open %q: no error", name)
		}
		if _, err := s.Stat(name); err == nil {
			t.Errorf("stat %q: no error", name)
		}
	}
	h, err := s.OpenFile("/inside", os.O_RDONLY)
	must(t, err)
	buf := make([]byte, 5)
	if n, _ := h.ReadAt(buf, 0); string(buf[:n]) != "hello" {
		t.Errorf("read through an inside link: %q", buf[:n])
	}
	_ = h.Close()
	if err := s.Remove("/", true); !errors.Is(err, ErrRoot) {
		t.Errorf("remove /: %v", err)
	}
}

// TestQuotaAndVirtualDirs: writes past the quota are refused; removes and truncations give
// bytes back; a virtual directory maps its prefix and a rename across it is refused.
func TestQuotaAndVirtualDirs(t *testing.T) {
	root := t.TempDir()
	app, vids := filepath.Join(root, "app"), filepath.Join(root, "videos")
	must(t, os.MkdirAll(app, 0o755))
	q := NewQuota(10, 0)
	s, err := New(app, []VirtualDir{{Prefix: "/videos", Dir: vids}}, q)
	must(t, err)
	defer s.Close()
	h, err := s.OpenFile("/videos/a.bin", os.O_RDWR|os.O_CREATE)
	must(t, err)
	if _, err := h.WriteAt([]byte("12345678"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("abcd"), 8); !errors.Is(err, ErrQuota) {
		t.Fatalf("write past the quota: %v", err)
	}
	if _, err := h.WriteAt([]byte("ab"), 6); err != nil { // overwrites 2, adds 0: fits
		t.Fatal(err)
	}
	_ = h.Close()
	if q.Used() != 8 {
		t.Errorf("used %d, want 8", q.Used())
	}
	if _, err := os.Stat(filepath.Join(vids, "a.bin")); err != nil {
		t.Errorf("virtual dir not mapped: %v", err)
	}
	if err := s.Rename("/videos/a.bin", "/a.bin"); !errors.Is(err, ErrCrossMount) {
		t.Errorf("rename across mounts: %v", err)
	}
	h, err = s.OpenFile("/videos/a.bin", os.O_RDWR|os.O_TRUNC)
	must(t, err)
	_ = h.Close()
	if q.Used() != 0 {
		t.Errorf("after truncation used %d, want 0", q.Used())
	}
	if _, err := s.Stat("/videosx/a.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("/videosx is the app folder's, not the mount's: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
