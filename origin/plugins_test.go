package origin

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/localstorage"
	"github.com/rs/zerolog"
)

// TestStorageDefaultsToLocal: without a storage module the origin's storage is storage.local
// over DATA/media; a selected one is used instead; without a data folder there is none.
func TestStorageDefaultsToLocal(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	st := storageOf(nil, cfg)
	w, err := st.Create(context.Background(), "live/rec.flv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "flv")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(cfg.Data, "media", "live", "rec.flv")); err != nil || string(b) != "flv" {
		t.Fatalf("default storage wrote %q, %v", b, err)
	}

	mine := &localstorage.Module{Root: t.TempDir()}
	var sel plugin.Selection
	sel.Add(mine)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop(), DataDir: cfg.Data})
	if err != nil {
		t.Fatal(err)
	}
	if got := storageOf(h, cfg); got != plugin.Storage(mine) {
		t.Fatalf("selected storage not used: %#v", got)
	}
	cfg.Data = ""
	if got := storageOf(nil, cfg); got != nil {
		t.Fatalf("storage without a data folder: %#v", got)
	}
}
