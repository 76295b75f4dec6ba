package scripting

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// ChangeKind says what happened to an app folder.
type ChangeKind int

// Kinds of AppChange.
const (
	Changed ChangeKind = iota + 1 // code, app.json or a tracked file changed
	Removed                       // the app folder is gone
	Added                         // a new app folder appeared
)

func (k ChangeKind) String() string {
	switch k {
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	case Added:
		return "added"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// AppChange is one debounced change of one app.
type AppChange struct {
	App  string
	Kind ChangeKind
}

// DefaultDebounce is how long an app's folder must stay quiet before its change is reported: an
// editor's save is several events (temp file, write, rename), and one reload should follow.
const DefaultDebounce = 150 * time.Millisecond

// Watcher reports changes of the apps under one folder. fsnotify is not recursive and loses
// single-file watches on atomic saves, so it watches directories only: the apps folder, every
// folder below it, and the folders of tracked files elsewhere. File systems that send no events
// (NFS, SMB, FUSE) are covered by Rescan (SIGHUP) and the optional poll, which compare each app's
// files with what its instances were loaded from (rescan.go). All of its state belongs to the goroutine
// running Run; Track, Forget and Rescan post requests to it and never block.
type Watcher struct {
	root     string
	log      zerolog.Logger
	debounce time.Duration
	poll     time.Duration     // rescan period (0: none)
	fw       *fsnotify.Watcher // nil without file events (watchOptions.noEvents)
	events   chan AppChange

	inboxMu sync.Mutex
	inbox   []func()
	wake    chan struct{}

	// Owned by Run (set up by NewWatcher before Run starts).
	dirs    map[string]bool            // watched folders
	tracked map[string]map[string]bool // absolute file path → apps that loaded it
	known   map[string]bool            // apps that exist, as last reported
	pending map[string]time.Time       // app → when to report it
	sums    appSums                    // what each app's files were when last reported
	verify  map[string]bool            // pending apps a rescan touched: reported only if their files differ
	fresh   map[string]bool            // apps whose only instance started since their last report (rescan.go)
}

// watchOptions are the Watcher's settings beyond the folder.
type watchOptions struct {
	debounce time.Duration // <= 0: DefaultDebounce
	noEvents bool          // no fsnotify: changes are seen by Rescan and the poll only
	poll     time.Duration // rescan every poll (0: never)
}

// NewWatcher watches appsDir and every folder below it at once, so that nothing written after
// it returns is missed. debounce <= 0 means DefaultDebounce.
func NewWatcher(appsDir string, log zerolog.Logger, debounce time.Duration) (*Watcher, error) {
	return newWatcher(appsDir, log, watchOptions{debounce: debounce})
}

func newWatcher(appsDir string, log zerolog.Logger, opt watchOptions) (*Watcher, error) {
	root, err := filepath.Abs(appsDir)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", appsDir, err)
	}
	if opt.debounce <= 0 {
		opt.debounce = DefaultDebounce
	}
	w := &Watcher{
		root: root, log: log, debounce: opt.debounce, poll: max(opt.poll, 0),
		events:  make(chan AppChange, 64),
		wake:    make(chan struct{}, 1),
		dirs:    make(map[string]bool),
		tracked: make(map[string]map[string]bool),
		known:   make(map[string]bool),
		pending: make(map[string]time.Time),
		sums:    newAppSums(),
		verify:  make(map[string]bool),
		fresh:   make(map[string]bool),
	}
	if !opt.noEvents {
		if w.fw, err = fsnotify.NewWatcher(); err != nil {
			return nil, fmt.Errorf("watching %s: %w", appsDir, err)
		}
		if err := w.fw.Add(root); err != nil {
			_ = w.fw.Close()
			return nil, fmt.Errorf("watching %s: %w", appsDir, err)
		}
	} else if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("watching %s: not a folder (%v)", appsDir, err)
	}
	w.dirs[root] = true
	for _, app := range w.scanRoot() {
		w.known[app] = true
		w.sums.record(w, app)
	}
	return w, nil
}

// Events delivers debounced changes. Its buffer is bounded; while the reader is behind, Run
// waits (and the kernel queue, if it overflows, turns into a full rescan).
func (w *Watcher) Events() <-chan AppChange { return w.events }

// Track adds a file the app's running code loads (load(), require()); a change to it reloads
// the app even when it lies outside the app folder. Call it before the file is read: its content
// sum is taken here, on the caller's goroutine, so that an edit after the read differs from it.
func (w *Watcher) Track(app, path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	sum := fileSum(abs)
	w.post(func() { w.track(app, abs, sum) })
}

// Forget drops the files tracked for app (before a reload tracks its new set).
func (w *Watcher) Forget(app string) {
	w.post(func() {
		for p, apps := range w.tracked {
			delete(apps, app)
			if len(apps) == 0 {
				delete(w.tracked, p)
			}
		}
	})
}

// Rescan re-reads the whole apps folder as if every file had changed: an app is reported Changed
// when its files (code, app.json, the files it loaded) differ from when it was last reported,
// Added or Removed when its folder appeared or went (SIGHUP; file systems without events).
func (w *Watcher) Rescan() {
	w.post(w.rescanAll)
}

func (w *Watcher) post(f func()) {
	w.inboxMu.Lock()
	w.inbox = append(w.inbox, f)
	w.inboxMu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run watches until ctx ends, then closes the fsnotify watcher. Events() is not closed.
func (w *Watcher) Run(ctx context.Context) error {
	var fsEvents <-chan fsnotify.Event
	var fsErrors <-chan error
	if w.fw != nil {
		defer w.fw.Close()
		fsEvents, fsErrors = w.fw.Events, w.fw.Errors
	}
	var pollC <-chan time.Time
	if w.poll > 0 {
		poll := time.NewTicker(w.poll)
		defer poll.Stop()
		pollC = poll.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-pollC:
			w.rescanAll()
		case ev, ok := <-fsEvents:
			if !ok {
				return errors.New("fsnotify watcher closed")
			}
			w.handle(ev)
		case err, ok := <-fsErrors:
			if !ok {
				return errors.New("fsnotify watcher closed")
			}
			w.handleError(err)
		case <-w.wake:
			w.runInbox()
		case <-timer.C:
		}
		if !w.flush(ctx) {
			return nil
		}
		w.arm(timer)
	}
}

func (w *Watcher) runInbox() {
	w.inboxMu.Lock()
	jobs := w.inbox
	w.inbox = nil
	w.inboxMu.Unlock()
	for _, f := range jobs {
		f()
	}
}

func (w *Watcher) handleError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn().Msg("file events overflowed; rescanning all apps")
		w.rescanAll()
		return
	}
	w.log.Error().Err(err).Msg("watching apps")
}

// arm sets the timer to the earliest pending report.
func (w *Watcher) arm(timer *time.Timer) {
	timer.Stop()
	var next time.Time
	for _, at := range w.pending {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if !next.IsZero() {
		timer.Reset(max(time.Until(next), time.Millisecond))
	}
}

// flush reports the apps whose quiet period is over; the kind is decided now, from whether the
// folder exists, so that a burst (created, written, renamed) gives one event. An app only a
// rescan touched is reported Changed only if its files differ from the last report. false = ctx
// ended.
func (w *Watcher) flush(ctx context.Context) bool {
	return w.flushAt(ctx, time.Now())
}

func (w *Watcher) flushAt(ctx context.Context, now time.Time) bool {
	for app, at := range w.pending {
		if at.After(now) {
			continue
		}
		delete(w.pending, app)
		verify := w.verify[app] || w.fresh[app]
		delete(w.verify, app)
		delete(w.fresh, app)
		st, err := os.Stat(filepath.Join(w.root, app))
		exists := err == nil && st.IsDir()
		var kind ChangeKind
		switch {
		case exists && w.known[app]:
			kind = Changed
		case exists:
			kind = Added
		case w.known[app]:
			kind = Removed
		default:
			continue // created and gone within the quiet period
		}
		if kind == Changed && !w.sums.record(w, app) && verify {
			continue // rescanned, and nothing it is built from differs
		}
		w.known[app] = exists
		if !exists {
			delete(w.known, app)
			w.sums.forget(app)
		} else if kind == Added {
			w.sums.record(w, app)
		}
		w.log.Debug().Str("app", app).Stringer("kind", kind).Msg("app folder changed")
		select {
		case w.events <- AppChange{App: app, Kind: kind}:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// touch schedules a report for app after the quiet period (restarting it): a file event, so the
// app is reported even if its files read the same as before.
func (w *Watcher) touch(app string) {
	delete(w.verify, app)
	w.pending[app] = time.Now().Add(w.debounce)
}

// touchRescan schedules a report for app that a rescan asks for: unless an event is pending for
// it too, it is reported only if its files differ.
func (w *Watcher) touchRescan(app string) {
	if _, evented := w.pending[app]; !evented || w.verify[app] {
		w.verify[app] = true
	}
	w.pending[app] = time.Now().Add(w.debounce)
}
