package scripting

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// HooksID is the module ID of the server-wide JavaScript hooks. The module is not in the plug-in
// registry: the origin adds it to its selection itself when the hooks folder exists.
const HooksID = "hooks.js"

// HookEntry is the file of a hook folder that holds its code.
const HookEntry = "main.js"

// HookRestartDelay is how long a hook that passed a memory or CPU bound stays down (refusing
// every request) before it is started again from its files.
const HookRestartDelay = time.Second

// HooksConfig configures the server-wide JavaScript hooks (docs/hooks.md).
type HooksConfig struct {
	// Dir holds one folder per hook, each with a main.js; it must exist.
	Dir string
	// HandlerTimeout is the watchdog budget of one handler call (default 1 s).
	HandlerTimeout time.Duration
	// Budget is how long the hooks together may take to decide one request, a Promise's
	// settlement included (default plugin.DefaultAuthBudget).
	Budget time.Duration
	// MemoryLimitMB is the heap one callback may grow by (default 256, as an app's memoryLimitMB).
	MemoryLimitMB int
	// Contain bounds each hook across its callbacks, as it bounds app instances.
	Contain Containment
	// NoFileEvents and RescanEvery are EngineConfig's, for the hooks folder.
	NoFileEvents bool
	RescanEvery  time.Duration
}

func (c *HooksConfig) setDefaults() {
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = time.Second
	}
	if c.Budget <= 0 {
		c.Budget = plugin.DefaultAuthBudget
	}
	if c.MemoryLimitMB <= 0 {
		c.MemoryLimitMB = DefaultAppConfig().MemoryLimitMB
	}
	c.Contain.setDefaults()
}

// Hooks runs the hooks of one folder: each folder NAME with a main.js is one always-loaded
// script on a loop of its own, contained like an app instance and hot-reloaded when its files
// change. It is a plug-in module (an Authorizer and an EventSink), so the server applies it on
// every transport, after the Go auth modules selected before it. The set of hooks belongs to the
// goroutine Start runs; requests read its published snapshot.
type Hooks struct {
	cfg     HooksConfig
	log     zerolog.Logger
	cache   *ProgramCache
	sampler *jsloop.MemSampler
	watcher *Watcher

	set    atomic.Pointer[[]*hook] // sorted by name; replaced by the run goroutine only
	byName map[string]*hook        // run goroutine (and Start before it)
	inbox  chan func()             // work for the run goroutine (restarts)

	cancel  context.CancelFunc
	done    chan struct{}
	stopped sync.Once

	eventsDropped atomic.Uint64 // events not queued: a hook's loop was full or closed

	// afterReload, if set (tests), is called after each reload attempt of a hook, on its loop
	// (err nil: the new code runs; a removed hook is reported with ErrNoApp).
	afterReload func(name string, err error)
}

// NewHooks checks the folder and starts watching it; the hooks load in Start.
func NewHooks(cfg HooksConfig, log zerolog.Logger) (*Hooks, error) {
	cfg.setDefaults()
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	cfg.Dir = abs
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("hooks: %s is not a folder", abs)
	}
	w, err := newWatcher(abs, log, watchOptions{noEvents: cfg.NoFileEvents, poll: cfg.RescanEvery})
	if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	h := &Hooks{cfg: cfg, log: log, cache: NewProgramCache(), sampler: jsloop.NewMemSampler(), watcher: w,
		byName: map[string]*hook{}, inbox: make(chan func(), 16), done: make(chan struct{})}
	h.publish()
	return h, nil
}

// PluginInfo is the module's identity.
func (h *Hooks) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: HooksID, New: func() plugin.Module { return new(Hooks) }}
}

// Budget is the time the hooks have for one request (plugin.Budgeted).
func (h *Hooks) Budget() time.Duration { return h.cfg.Budget }

// Start loads every hook and starts watching their files. A hook that does not compile or whose
// top level throws stops the start: a server does not run without the policy it was given.
func (h *Hooks) Start() error {
	names, errs := ListApps(h.cfg.Dir)
	for _, err := range errs {
		h.log.Warn().Err(err).Msg("skipping hook folder")
	}
	for _, name := range names {
		hk, err := h.startHook(name)
		if err != nil {
			h.closeAll()
			return err
		}
		if hk != nil {
			h.byName[name] = hk
		}
	}
	h.publish()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go h.run(ctx)
	h.log.Info().Str("dir", h.cfg.Dir).Strs("hooks", h.Names()).Msg("hooks loaded")
	return nil
}

// Stop ends the watching and every hook's loop.
func (h *Hooks) Stop() error {
	h.stopped.Do(func() {
		if h.cancel != nil {
			h.cancel()
			<-h.done
		}
		h.closeAll()
	})
	return nil
}

// Names lists the running hooks in the order they are asked.
func (h *Hooks) Names() []string {
	var out []string
	for _, hk := range *h.set.Load() {
		out = append(out, hk.name)
	}
	return out
}

// Rescan checks the hooks folder as if every file had changed (SIGHUP; file systems without
// events), like Engine.Rescan.
func (h *Hooks) Rescan() {
	if h != nil {
		h.watcher.Rescan()
	}
}

// EventsDropped is how many events no hook got because its queue was full.
func (h *Hooks) EventsDropped() uint64 { return h.eventsDropped.Load() }

// Authorize asks every hook in name order; all must accept. A hook's changes of the writable
// fields are seen by the next one and by the server.
func (h *Hooks) Authorize(ctx context.Context, req *plugin.Request) plugin.Decision {
	for _, hk := range *h.set.Load() {
		if d := hk.authorize(ctx, req); d.Verdict != plugin.Accept && d.Verdict != plugin.Abstain {
			return d
		}
	}
	return plugin.Decision{Verdict: plugin.Accept}
}

// HandleEvent hands ev to every hook's server.onEvent, without waiting for it.
func (h *Hooks) HandleEvent(_ context.Context, ev *plugin.Event) {
	for _, hk := range *h.set.Load() {
		hk.event(ev)
	}
}

// run owns the set of hooks: file changes, restarts after a fatal bound, and the drop report.
func (h *Hooks) run(ctx context.Context) {
	defer close(h.done)
	wctx, cancel := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() { werr <- h.watcher.Run(wctx) }()
	defer func() { cancel(); <-werr }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var reported uint64
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-werr:
			werr <- err
			if err != nil {
				h.log.Error().Err(err).Msg("watching hooks stopped; edits are not seen until a restart")
			}
			<-ctx.Done()
			return
		case ch := <-h.watcher.Events():
			h.handleChange(ch)
		case f := <-h.inbox:
			f()
		case <-tick.C:
			if d := h.eventsDropped.Load(); d != reported {
				h.log.Warn().Uint64("dropped", d-reported).Uint64("dropped_total", d).Msg("hook events dropped: a hook's queue was full")
				reported = d
			}
		}
	}
}

// handleChange applies one debounced change of a hook folder.
func (h *Hooks) handleChange(ch AppChange) {
	name := ch.App
	hk := h.byName[name]
	entry := filepath.Join(h.cfg.Dir, name, HookEntry)
	if _, err := os.Stat(entry); ch.Kind == Removed || err != nil {
		if hk != nil {
			h.log.Info().Str("hook", name).Msg("hook removed; its policy no longer applies")
			h.dropHook(hk)
			h.reloaded(name, ErrNoApp)
		}
		return
	}
	if hk == nil || hk.dead() {
		h.replaceHook(name, hk)
		return
	}
	hk.reload()
}

// replaceHook starts name afresh (new, or its loop ended); a hook whose code does not load is
// kept and refuses every request until it is fixed (fail closed).
func (h *Hooks) replaceHook(name string, old *hook) {
	if old != nil {
		h.dropHook(old)
	}
	hk, err := h.startHook(name)
	if hk != nil {
		h.byName[name] = hk
		h.publish()
	}
	if err != nil {
		h.log.Error().Str("hook", name).Str("err", err.Error()).Msg("hook failed to load; it refuses every request until it is fixed")
	}
	h.reloaded(name, err)
}

// startHook starts a hook and waits for its code's first run. It returns nil, nil for a folder
// without main.js (no hook), and the hook with its error when the code fails.
func (h *Hooks) startHook(name string) (*hook, error) {
	entry := filepath.Join(h.cfg.Dir, name, HookEntry)
	if st, err := os.Stat(entry); err != nil || !st.Mode().IsRegular() {
		h.log.Warn().Str("hook", name).Msg("hook folder without " + HookEntry + "; ignored")
		return nil, nil
	}
	hk := h.newHook(name, entry)
	if err := hk.load(); err != nil {
		return hk, fmt.Errorf("hook %s: %w", name, err)
	}
	return hk, nil
}

// dropHook stops a hook and takes it out of the set.
func (h *Hooks) dropHook(hk *hook) {
	if h.byName[hk.name] == hk {
		delete(h.byName, hk.name)
		h.publish()
	}
	hk.loop.Stop()
}

// restartLater is a hook's OnFatal: after HookRestartDelay the run goroutine starts it again,
// unless an edit replaced it meanwhile.
func (h *Hooks) restartLater(hk *hook) {
	time.AfterFunc(HookRestartDelay, func() {
		restart := func() {
			if h.byName[hk.name] == hk {
				h.log.Info().Str("hook", hk.name).Msg("restarting the hook")
				h.replaceHook(hk.name, hk)
			}
		}
		select {
		case h.inbox <- restart:
		case <-h.done:
		}
	})
}

// publish makes the current set the one requests use, sorted by name.
func (h *Hooks) publish() {
	list := make([]*hook, 0, len(h.byName))
	for _, hk := range h.byName {
		list = append(list, hk)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	h.set.Store(&list)
}

func (h *Hooks) closeAll() {
	for _, hk := range h.byName {
		hk.loop.Close()
	}
}

func (h *Hooks) reloaded(name string, err error) {
	if h.afterReload != nil {
		h.afterReload(name, err)
	}
}

// errHookDown is the reason logged for a request a hook could not be asked.
var errHookDown = errors.New("hook not running")
