package scripting

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting/appfs"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// ServerName is what application.server reports.
const ServerName = "fmsgo/1.0 (FMS compatible)"

// ErrNoApp is returned by Connect for an app folder that does not exist.
var ErrNoApp = errors.New("no such application")

// EngineConfig names the folders the engine works with.
type EngineConfig struct {
	AppsDir      string // apps/NAME/ folders
	ScriptLibDir string // FMS server script library for load() ("" = none)
	DataDir      string // persistent state
	Instances    InstanceLimits
	// SharedObjectDiskQuotaMB is each app's disk budget for persistent shared objects when its
	// app.json does not set sharedObjects.diskQuotaMB (0: DefaultSharedObjectDiskQuotaMB,
	// negative: no limit).
	SharedObjectDiskQuotaMB int64
	Contain                 Containment
	// NoFileEvents turns the file events (inotify) on the apps folder off: changes are then seen
	// by Rescan and every RescanEvery only (file systems without events: NFS, SMB, FUSE).
	NoFileEvents bool
	RescanEvery  time.Duration // period of an automatic Rescan (0: none)
	// Live configures each instance's live stream hub.
	Live live.Config
	// Events, if set, is told of each instance's load, reload, load or reload failure and
	// unload (the plug-in events modules; it must not block).
	Events func(plugin.Event)
	// RPC are the rpc modules by name: app code calls them as application.plugins.NAME.method
	// (see plugins.go).
	RPC map[string]plugin.RPCService
	// SOStore keeps persistent shared objects (a sostore module); nil: crash-safe files under
	// DataDir (none without it).
	SOStore plugin.SOStore
	// Files, if set, gives each instance the file system of its File objects; nil: the app
	// folder plus VirtualDirs (FMS's FileObject/VirtualDirectory mappings, the operator's),
	// sandboxed, under FileQuotaMB per app (0: DefaultFileQuotaMB, negative: no limit).
	Files       FilesFunc
	VirtualDirs []appfs.VirtualDir
	FileQuotaMB int64
	// HTTP bounds each instance's LoadVars and XML requests (zero fields: webclient defaults).
	HTTP webclient.Config
}

// Engine runs the apps of one apps folder: it starts an instance on its first connection,
// unloads it when idle, and reloads the instances of an app when its files change. Connect and
// AppExists are safe from any goroutine.
type Engine struct {
	cfg      EngineConfig
	log      zerolog.Logger
	cache    *ProgramCache
	tops     topLevels          // entry files' top-level names by content
	sampler  *jsloop.MemSampler // the heap sampler of every instance's loop
	watcher  *Watcher
	hostname string

	mu        sync.Mutex // guards instances, perApp and creations (lookups and the start/unload hand-over only)
	instances map[string]*instance
	perApp    map[string]int // loaded instances per app name
	creations buckets        // per-address instance creation rate
	counters  engineCounters
	closed    bool

	quotas     soQuotas   // per-app disk quotas of persistent shared objects
	fileQuotas fileQuotas // per-app quotas of File writes
	transport  *http.Transport
	rpc        []rpcService

	// afterReload, if set (tests), is called once per reload attempt of each instance, on its loop.
	afterReload func(app string, err error)
}

// NewEngine checks the folders and starts watching the apps folder (events are handled by Run).
func NewEngine(cfg EngineConfig, log zerolog.Logger) (*Engine, error) {
	for _, p := range []*string{&cfg.AppsDir, &cfg.ScriptLibDir, &cfg.DataDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		*p = abs
	}
	w, err := newWatcher(cfg.AppsDir, log, watchOptions{noEvents: cfg.NoFileEvents, poll: cfg.RescanEvery})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	host, _ := os.Hostname()
	cfg.Instances.setDefaults()
	cfg.Contain.setDefaults()
	return &Engine{cfg: cfg, log: log.With().Str("component", "scripting").Logger(), cache: NewProgramCache(), sampler: jsloop.NewMemSampler(),
		watcher: w, hostname: host, instances: map[string]*instance{}, perApp: map[string]int{}, rpc: newRPCServices(cfg.RPC),
		creations: newBuckets(cfg.Instances.CreateRate, cfg.Instances.CreateBurst), transport: newTransport()}, nil
}

// Run handles file changes (reloads, removed apps) until ctx ends, then unloads every instance
// (clients get NetConnection.Connect.AppShutdown) and returns.
func (e *Engine) Run(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() { werr <- e.watcher.Run(wctx) }()
	defer func() {
		cancel()
		<-werr
		e.shutdownAll()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-werr:
			werr <- err
			if err != nil {
				return fmt.Errorf("engine: %w", err)
			}
			return nil
		case ch := <-e.watcher.Events():
			e.handleChange(ch)
		}
	}
}

func (e *Engine) handleChange(ch AppChange) {
	switch ch.Kind {
	case Changed:
		e.reloadApp(ch.App)
	case Removed:
		e.log.Info().Str("app", ch.App).Msg("app folder removed; shutting its instances down")
		for _, inst := range e.instancesOf(ch.App) {
			inst.post(func() { inst.unload("Application.Shutdown", "application removed") })
		}
	case Added:
		e.log.Info().Str("app", ch.App).Msg("new app")
	}
}

// shutdownAll unloads every instance and waits (bounded) for their loops to end.
func (e *Engine) shutdownAll() {
	e.mu.Lock()
	e.closed = true
	all := make([]*instance, 0, len(e.instances))
	for _, inst := range e.instances {
		all = append(all, inst)
	}
	e.mu.Unlock()
	for _, inst := range all {
		inst.post(func() { inst.unload("Application.Shutdown", "server shutting down") })
	}
	deadline := time.After(5 * time.Second)
	for _, inst := range all {
		select {
		case <-inst.loop.Done():
		case <-deadline:
			inst.loop.Stop()
		}
	}
}

func (e *Engine) instancesOf(app string) []*instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*instance
	for _, inst := range e.instances {
		if inst.appName == app {
			out = append(out, inst)
		}
	}
	return out
}

// AppExists reports whether apps/name is an app folder.
func (e *Engine) AppExists(name string) bool {
	if !ValidAppName(name) {
		return false
	}
	st, err := os.Stat(filepath.Join(e.cfg.AppsDir, name))
	return err == nil && st.IsDir()
}

// Connect asks the app instance (started on first use; onAppStart) whether s may connect. The
// verdict is delivered later through s.Accept / s.Reject (pending connections included). The
// returned *Client is the origin's handle for that connection's later events. Starting a new
// instance may be refused (an error wrapping ErrRefused): see InstanceLimits and the app's
// maxInstances and instancePattern.
//
// The app folder is looked up on disk only when the instance is not running: a connect to a
// running instance costs no system call (a removed folder unloads its instances, see Run).
func (e *Engine) Connect(app, instName string, s Session) (*Client, error) {
	if !ValidAppName(app) {
		return nil, fmt.Errorf("connect %s: %w", app, ErrNoApp)
	}
	if instName == "" {
		instName = "_definst_"
	}
	cold := false // the folder was checked: acquire may start the instance
	for attempt := 0; attempt < 3; attempt++ {
		inst, err := e.acquire(app, instName, s.Info().IP, cold)
		if errors.Is(err, errNotRunning) {
			if !e.AppExists(app) {
				return nil, fmt.Errorf("connect %s: %w", app, ErrNoApp)
			}
			e.prepareQuota(app) // its first use reads the disk: not under e.mu
			cold = true
			inst, err = e.acquire(app, instName, s.Info().IP, cold)
		}
		if err != nil {
			return nil, err
		}
		c := &Client{inst: inst, sess: s, info: s.Info(), connectedAt: time.Now()}
		c.readAccess.Store(c.info.ReadAccess)
		c.writeAccess.Store(c.info.WriteAccess)
		if err := inst.loop.Post(func(rt *goja.Runtime) error { inst.connect(c); return nil }); err == nil {
			return c, nil
		}
		e.release(inst)
	}
	return nil, fmt.Errorf("connect %s/%s: instance not accepting connections", app, instName)
}

// errNotRunning: acquire found no running instance and was not allowed to start one.
var errNotRunning = errors.New("instance not running")

// acquire returns the running instance app/instName, starting it if start is set and admit lets
// the client at ip do so (errNotRunning otherwise), and counts a connection on its way to it so
// that an idle unload does not race with it.
func (e *Engine) acquire(app, instName, ip string, start bool) (*instance, error) {
	var buf [64]byte // the key "app/instance" for the lookup, without allocating it
	key := append(append(append(buf[:0], app...), '/'), instName...)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("connect %s: engine closed", string(key))
	}
	inst := e.instances[string(key)]
	if inst == nil {
		if !start {
			return nil, errNotRunning
		}
		sum := folderSum(e.cfg.AppsDir, app) // taken before the app is read: a later edit differs
		a, err := e.loadApp(app)
		if err != nil {
			return nil, err
		}
		if err := e.admit(a, instName, ip); err != nil {
			e.counters.refused.Add(1)
			return nil, err
		}
		inst = e.startInstance(a, instName)
		e.watcher.Loaded(app, sum, e.perApp[app] == 0)
		e.instances[string(key)] = inst
		e.perApp[app]++
	}
	inst.refs++
	return inst, nil
}

// release ends a connection's way in (its connect job runs now, so the instance is not idle).
func (e *Engine) release(inst *instance) {
	e.mu.Lock()
	inst.refs--
	inst.idleSince = time.Time{}
	e.mu.Unlock()
}

// markIdle records that inst has no client left (from its loop, as its idle unload is armed).
func (e *Engine) markIdle(inst *instance) {
	e.mu.Lock()
	if inst.refs == 0 {
		inst.idleSince = time.Now()
	}
	e.mu.Unlock()
}

// forget removes inst from the table if it has no connection on its way; ok reports removal.
func (e *Engine) forget(inst *instance, force bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !force && inst.refs > 0 {
		return false
	}
	if e.instances[inst.name] == inst {
		delete(e.instances, inst.name)
		if e.perApp[inst.appName]--; e.perApp[inst.appName] <= 0 {
			delete(e.perApp, inst.appName)
		}
	}
	return true
}

// Instances reports how many instances are loaded, of app or of every app when app is "" (stats
// and tests). An instance being unloaded no longer counts.
func (e *Engine) Instances(app string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if app == "" {
		return len(e.instances)
	}
	return e.perApp[app]
}

// loadApp reads an app folder; a bad app.json is logged and the defaults are used.
func (e *Engine) loadApp(name string) (*App, error) {
	app, err := LoadApp(e.cfg.AppsDir, name)
	if err == nil {
		return app, nil
	}
	dir := filepath.Join(e.cfg.AppsDir, name)
	if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
		return nil, err
	}
	e.log.Error().Str("app", name).Err(err).Msg("bad app.json; using the default limits")
	return &App{Name: name, Dir: dir, Entry: EntryFile(dir, name), Config: DefaultAppConfig()}, nil
}

// compile compiles an app's entry file (nil program for an app without code).
func (e *Engine) compile(app *App) (*goja.Program, error) {
	if app.Entry == "" {
		return nil, nil
	}
	return e.cache.Compile(app.Entry, filepath.ToSlash(filepath.Join(app.Name, filepath.Base(app.Entry))))
}

// readSource is what load() and require() read files with.
func readSource(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return NormalizeSource(b), nil
}
