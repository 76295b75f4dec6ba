package sofile

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// TestFilesUnderDataDir: sostore.file keeps app/instance/name in DATA/APP/INSTANCE/NAME.fso (the
// default store's layout), counts them for the quota, and refuses names that cannot be files.
func TestFilesUnderDataDir(t *testing.T) {
	t.Parallel()
	info, ok := plugin.Lookup("sostore.file")
	if !ok {
		t.Fatal("sostore.file not registered")
	}
	data := t.TempDir()
	m := info.New().(*Module)
	if err := m.Provision(plugin.Context{DataDir: data}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.LoadSO(ctx, "chat", "room 1", "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load of nothing: %v", err)
	}
	if err := m.SaveSO(ctx, "chat", "room 1", "a/b", []byte("state")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "chat", "room%201", "a", "b.fso")); err != nil || string(b) != "state" {
		t.Fatalf("file: %q, %v", b, err)
	}
	if b, err := m.LoadSO(ctx, "chat", "room 1", "a/b"); err != nil || !bytes.Equal(b, []byte("state")) {
		t.Fatalf("load: %q, %v", b, err)
	}
	if n, err := m.SOUsage(ctx, "chat"); err != nil || n != 5 {
		t.Fatalf("usage %d, %v", n, err)
	}
	if err := m.SaveSO(ctx, "chat", "room 1", "../x", nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	if err := m.DeleteSO(ctx, "chat", "room 1", "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LoadSO(ctx, "chat", "room 1", "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestProvisionDir: dir is resolved against the config file's folder and made; without dir
// nor data folder the module refuses to start.
func TestProvisionDir(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	m := &Module{Dir: "so"}
	if err := m.Provision(plugin.Context{ConfigDir: cfgDir, DataDir: "/nonexistent"}); err != nil {
		t.Fatal(err)
	}
	if m.Dir != filepath.Join(cfgDir, "so") {
		t.Fatalf("dir %q", m.Dir)
	}
	if st, err := os.Stat(m.Dir); err != nil || !st.IsDir() {
		t.Fatalf("dir not made: %v", err)
	}
	if err := new(Module).Provision(plugin.Context{}); err == nil {
		t.Fatal("provisioned without a folder")
	}
}
