package scripting

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// newQuietWatcher is a watcher without file events over apps a and m, driven by the test itself
// (no Run: the test goroutine owns its state), as on a file system that sends no events.
func newQuietWatcher(t *testing.T) (root string, w *Watcher) {
	t.Helper()
	root = t.TempDir()
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 1;")
	writeFile(t, filepath.Join(root, "m", "main.js"), "var m = 1;")
	w, err := newWatcher(root, zerolog.Nop(), watchOptions{noEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	return root, w
}

// rescanNow runs one rescan to its end (its quiet period treated as over) and returns what it
// reported.
func rescanNow(t *testing.T, w *Watcher) map[AppChange]bool {
	t.Helper()
	w.rescanAll()
	return flushNow(t, w)
}

// flushNow reports what is pending as if its quiet period were over.
func flushNow(t *testing.T, w *Watcher) map[AppChange]bool {
	t.Helper()
	if !w.flushAt(context.Background(), time.Now().Add(time.Hour)) {
		t.Fatal("flush stopped")
	}
	got := map[AppChange]bool{}
	for {
		select {
		case ev := <-w.Events():
			got[ev] = true
		default:
			return got
		}
	}
}

func expectReport(t *testing.T, what string, got map[AppChange]bool, want ...AppChange) {
	t.Helper()
	ok := len(got) == len(want)
	for _, w := range want {
		ok = ok && got[w]
	}
	if !ok {
		t.Fatalf("%s: reported %v, want %v", what, got, want)
	}
}

// TestRescanReportsOnlyDifferences: a rescan without file events reports the apps whose code,
// app.json or loaded files differ from their last report, new folders and removed ones, and
// nothing for files only touched, written with the same bytes, or irrelevant.
func TestRescanReportsOnlyDifferences(t *testing.T) {
	t.Parallel()
	root, w := newQuietWatcher(t)
	expectReport(t, "nothing changed", rescanNow(t, w))

	main := filepath.Join(root, "a", "main.js")
	writeFile(t, main, "var v = 1;") // same bytes
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(main, later, later); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", "notes.txt"), "not code")
	writeFile(t, filepath.Join(root, "a", ".main.js.swp"), "swap")
	expectReport(t, "touched, same bytes, irrelevant files", rescanNow(t, w))

	writeFile(t, main, "var v = 2;")
	expectReport(t, "code edited", rescanNow(t, w), AppChange{App: "a", Kind: Changed})
	expectReport(t, "the same edit again", rescanNow(t, w))

	writeFile(t, filepath.Join(root, "m", "app.json"), `{"maxClients": 3}`)
	writeFile(t, filepath.Join(root, "a", "lib", "x.asc"), "//")
	expectReport(t, "app.json and a new file in a subfolder", rescanNow(t, w),
		AppChange{App: "m", Kind: Changed}, AppChange{App: "a", Kind: Changed})

	writeFile(t, filepath.Join(root, "n", "main.js"), "//")
	if err := os.RemoveAll(filepath.Join(root, "m")); err != nil {
		t.Fatal(err)
	}
	expectReport(t, "added and removed", rescanNow(t, w),
		AppChange{App: "n", Kind: Added}, AppChange{App: "m", Kind: Removed})
	expectReport(t, "after added and removed", rescanNow(t, w))
}

// TestRescanLoadedFileOutside: a file an app loaded from outside its folder (the script
// library) counts as the app's: its edit is reported, its unchanged content is not.
func TestRescanLoadedFileOutside(t *testing.T) {
	t.Parallel()
	_, w := newQuietWatcher(t)
	lib := filepath.Join(t.TempDir(), "scriptlib", "netservices.asc")
	writeFile(t, lib, "// 1")
	w.track("a", lib, fileSum(lib))
	expectReport(t, "loaded file unchanged", rescanNow(t, w))
	writeFile(t, lib, "// 2")
	expectReport(t, "loaded file edited", rescanNow(t, w), AppChange{App: "a", Kind: Changed})
	expectReport(t, "after the edit", rescanNow(t, w))
}

// TestEditRightAfterLoadReloads: an edit that lands after the app read a file but before the
// watcher recorded it (the watcher's goroutine was busy) still counts as a change: the content
// sum is the one taken before the read. The sum used to be taken when the watcher got to it, so
// such an edit was taken for what the app runs and never reloaded (TestEditOfLoadedFileReloads
// failed that way in a suite run).
func TestEditRightAfterLoadReloads(t *testing.T) {
	t.Parallel()
	_, w := newQuietWatcher(t)
	lib := filepath.Join(t.TempDir(), "scriptlib", "v.asc")
	writeFile(t, lib, "var v = 1;")
	before := fileSum(lib) // Track's sum, then the app reads "var v = 1;"
	writeFile(t, lib, "var v = 2;")
	w.track("a", lib, before) // the watcher records it only now
	expectReport(t, "edited after the read", rescanNow(t, w), AppChange{App: "a", Kind: Changed})
}

// TestRescanEventWins: an app with a file event pending is reported even if a rescan finds its
// files as they were (an event means the file was written).
func TestRescanEventWins(t *testing.T) {
	t.Parallel()
	_, w := newQuietWatcher(t)
	w.touch("a")
	expectReport(t, "event then rescan", rescanNow(t, w), AppChange{App: "a", Kind: Changed})
}

// TestRescanOnOverflow: a kernel queue overflow (events lost) rescans the same way.
func TestRescanOnOverflow(t *testing.T) {
	t.Parallel()
	root, w := newQuietWatcher(t)
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 2;")
	if err := os.RemoveAll(filepath.Join(root, "m")); err != nil {
		t.Fatal(err)
	}
	w.handleError(fsnotify.ErrEventOverflow)
	expectReport(t, "after an overflow", flushNow(t, w), AppChange{App: "a", Kind: Changed}, AppChange{App: "m", Kind: Removed})
}

// TestWatcherPolls: with a poll period and no file events, an edit is reported by the poll.
func TestWatcherPolls(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 1;")
	w, err := newWatcher(root, zerolog.Nop(), watchOptions{noEvents: true, poll: 20 * time.Millisecond, debounce: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Atomic saves, so that a poll never sees a half-written file (which would be a change too).
	writeFile(t, filepath.Join(root, "a", ".main.js.tmp"), "var v = 2;")
	if err := os.Rename(filepath.Join(root, "a", ".main.js.tmp"), filepath.Join(root, "a", "main.js")); err != nil {
		t.Fatal(err)
	}
	expect(t, w, AppChange{App: "a", Kind: Changed})
	writeFile(t, filepath.Join(root, ".b", "main.js"), "//")
	if err := os.Rename(filepath.Join(root, ".b"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	expect(t, w, AppChange{App: "b", Kind: Added})
}

// TestRescanInstancesOfDifferentContents: instances of one app started from different contents
// (an edit seen by no event between their starts), or apps that loaded different contents of one
// library file, are all reported by the next rescan, so that their reload brings every instance
// to the files as they are; the rescan after that is quiet.
func TestRescanInstancesOfDifferentContents(t *testing.T) {
	t.Parallel()
	root, w := newQuietWatcher(t)
	w.sums.started("a", folderSum(root, "a"), true)
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 2;")
	w.sums.started("a", folderSum(root, "a"), false)
	expectReport(t, "two instances, two versions", rescanNow(t, w), AppChange{App: "a", Kind: Changed})
	expectReport(t, "after their reload", rescanNow(t, w))

	w.sums.started("a", folderSum(root, "a"), true) // a first instance after all were gone
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 3;")
	w.sums.started("a", folderSum(root, "a"), true)
	expectReport(t, "one instance at a time", rescanNow(t, w))

	lib := filepath.Join(t.TempDir(), "lib.asc")
	writeFile(t, lib, "// 1")
	w.track("a", lib, fileSum(lib))
	w.track("m", lib, fileSum(lib))
	expectReport(t, "one library content", rescanNow(t, w))
	writeFile(t, lib, "// 2")
	w.track("m", lib, fileSum(lib)) // m reloaded for another reason and read the new content; a runs the old
	expectReport(t, "two library contents", rescanNow(t, w),
		AppChange{App: "a", Kind: Changed}, AppChange{App: "m", Kind: Changed})
	expectReport(t, "after their reload", rescanNow(t, w))
}

// TestLoadedAppEventsChecked: the file events of an app's writing that arrive after its only
// instance started from those files report nothing; a later write does.
func TestLoadedAppEventsChecked(t *testing.T) {
	t.Parallel()
	root, w := newQuietWatcher(t)
	loaded := func() {
		w.Loaded("a", folderSum(root, "a"), true)
		w.runInbox()
	}
	loaded()
	w.touch("a") // a late event of the writing
	expectReport(t, "late event", flushNow(t, w))
	loaded()
	writeFile(t, filepath.Join(root, "a", "main.js"), "var v = 9;")
	w.touch("a")
	expectReport(t, "write after the start", flushNow(t, w), AppChange{App: "a", Kind: Changed})
	w.touch("a") // no longer fresh: an event reports as before, even with the same bytes
	expectReport(t, "event, same bytes", flushNow(t, w), AppChange{App: "a", Kind: Changed})
}
