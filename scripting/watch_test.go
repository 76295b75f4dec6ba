package scripting

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const eventTimeout = 5 * time.Second

// startWatcher creates apps a and m (a marker app used to prove that no event came) and runs a
// watcher over them until the test ends.
func startWatcher(t *testing.T) (root string, w *Watcher) {
	t.Helper()
	root = t.TempDir()
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 1;")
	writeFile(t, filepath.Join(root, "m", "main.js"), "var m = 1;")
	w, err := NewWatcher(root, zerolog.Nop(), 40*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return root, w
}

// expect waits for the next event and checks it.
func expect(t *testing.T, w *Watcher, want AppChange) {
	t.Helper()
	select {
	case got := <-w.Events():
		if got != want {
			t.Fatalf("event %+v, want %+v", got, want)
		}
	case <-time.After(eventTimeout):
		t.Fatalf("no event, want %+v", want)
	}
}

// expectQuiet proves that the changes made so far produced no event: it changes the marker app
// and requires the marker's event to be the next one. Events are handled in order and debounced
// equally, so an event caused earlier would have arrived first.
func expectQuiet(t *testing.T, root string, w *Watcher) {
	t.Helper()
	writeFile(t, filepath.Join(root, "m", "main.js"), "var m = 2;")
	expect(t, w, AppChange{App: "m", Kind: Changed})
}

func TestWatchInPlaceWriteAndConfig(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 2;")
	expect(t, w, AppChange{App: "a", Kind: Changed})
	writeFile(t, filepath.Join(root, "a", "app.json"), `{"maxClients": 1}`)
	expect(t, w, AppChange{App: "a", Kind: Changed})
	writeFile(t, filepath.Join(root, "a", "lib.ASC"), "//")
	expect(t, w, AppChange{App: "a", Kind: Changed})
	expectQuiet(t, root, w)
}

func TestWatchAtomicRename(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	tmp := filepath.Join(root, "a", ".main.js.tmp")
	writeFile(t, tmp, "var v = 3;")
	if err := os.Rename(tmp, filepath.Join(root, "a", "main.js")); err != nil {
		t.Fatal(err)
	}
	expect(t, w, AppChange{App: "a", Kind: Changed})
	expectQuiet(t, root, w) // one save, one event
}

func TestWatchVimSave(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	dir := filepath.Join(root, "a")
	// Temp files alone are no change.
	writeFile(t, filepath.Join(dir, ".main.js.swp"), "swap")
	writeFile(t, filepath.Join(dir, "4913"), "")
	if err := os.Remove(filepath.Join(dir, "4913")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "main.js~"), "backup")
	writeFile(t, filepath.Join(dir, "main.js___jb_tmp___"), "x")
	writeFile(t, filepath.Join(dir, ".#main.js"), "lock")
	writeFile(t, filepath.Join(dir, "#main.js#"), "autosave")
	writeFile(t, filepath.Join(dir, "data.txt"), "app data")
	if err := os.Chmod(filepath.Join(dir, "main.js"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, root, w)
	// The save itself: backup by rename, write the new file, drop the backup and swap file.
	if err := os.Rename(filepath.Join(dir, "main.js"), filepath.Join(dir, "main.js~")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "main.js"), "var v = 4;")
	_ = os.Remove(filepath.Join(dir, "main.js~"))
	_ = os.Remove(filepath.Join(dir, ".main.js.swp"))
	expect(t, w, AppChange{App: "a", Kind: Changed})
	expectQuiet(t, root, w)
}

func TestWatchNewAppAndSubfolder(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	if err := os.Mkdir(filepath.Join(root, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "b", "sub", "deep", "main.js"), "//") // right after mkdir
	expect(t, w, AppChange{App: "b", Kind: Added})
	// The new folders are watched: an edit deep inside is seen.
	writeFile(t, filepath.Join(root, "b", "sub", "deep", "main.js"), "// 2")
	expect(t, w, AppChange{App: "b", Kind: Changed})

	writeFile(t, filepath.Join(root, "a", "lib", "x.js"), "//")
	expect(t, w, AppChange{App: "a", Kind: Changed})
	writeFile(t, filepath.Join(root, "a", "lib", "x.js"), "// 2")
	expect(t, w, AppChange{App: "a", Kind: Changed})
	if err := os.RemoveAll(filepath.Join(root, "a", "lib")); err != nil {
		t.Fatal(err)
	}
	expect(t, w, AppChange{App: "a", Kind: Changed})
	// Dot-folders and files at the top are not apps.
	writeFile(t, filepath.Join(root, ".cache", "x.js"), "//")
	writeFile(t, filepath.Join(root, "top.js"), "//")
	expectQuiet(t, root, w)
}

func TestWatchRemoveApp(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	expect(t, w, AppChange{App: "a", Kind: Removed})
	writeFile(t, filepath.Join(root, "a", "main.js"), "//")
	expect(t, w, AppChange{App: "a", Kind: Added})
}

func TestWatchTrackedFileOutside(t *testing.T) {
	t.Parallel()
	root, w := startWatcher(t)
	lib := filepath.Join(t.TempDir(), "scriptlib", "netservices.asc")
	writeFile(t, lib, "//")
	w.Track("a", lib)
	// Track is asynchronous: write until the change is seen (each write is one attempt).
	deadline := time.Now().Add(eventTimeout)
	for {
		writeFile(t, lib, "// "+time.Now().String())
		select {
		case got := <-w.Events():
			if got != (AppChange{App: "a", Kind: Changed}) {
				t.Fatalf("event %+v", got)
			}
		case <-time.After(300 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("tracked file change not seen")
			}
			continue
		}
		break
	}
	w.Forget("a")
	expectQuiet(t, root, w) // the watcher is idle and has run Forget
	writeFile(t, lib, "// after forget")
	expectQuiet(t, root, w)
}
