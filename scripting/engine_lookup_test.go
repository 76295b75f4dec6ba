package scripting

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
)

// TestConnectToRunningInstanceSkipsFolderLookup: a connect to a running instance is handed to
// it without looking the app folder up on disk (a stat per connect was 4% of the origin's CPU
// per connect); only starting an instance needs the folder. Without file events the engine
// does not see a removed folder until a rescan, so a connect to the running instance is
// accepted and a new instance of the removed app is refused with ErrNoApp.
func TestConnectToRunningInstanceSkipsFolderLookup(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	apps := filepath.Join(root, "apps")
	if err := os.MkdirAll(filepath.Join(apps, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(apps, "a", "main.js"), []byte(`application.onConnect = function () { return true; };`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(EngineConfig{AppsDir: apps, DataDir: filepath.Join(root, "data"), NoFileEvents: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	first := newFake()
	if _, err := e.Connect("a", "", first); err != nil {
		t.Fatal(err)
	}
	first.expect(t, "accept")
	if err := os.Rename(filepath.Join(apps, "a"), filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	second := newFake()
	if _, err := e.Connect("a", "", second); err != nil {
		t.Fatalf("connect to the running instance: %v", err)
	}
	second.expect(t, "accept")
	if _, err := e.Connect("a", "other", newFake()); !errors.Is(err, ErrNoApp) {
		t.Fatalf("a new instance of a removed app: %v, want ErrNoApp", err)
	}
	if _, err := e.Connect("../a", "", newFake()); !errors.Is(err, ErrNoApp) {
		t.Fatalf("an invalid app name: %v, want ErrNoApp", err)
	}
}
