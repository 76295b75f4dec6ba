package scripting

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/scripting/appfs"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// instance is one running copy of an app (app/instance). All fields below loop are owned by the
// loop goroutine, except refs (engine mutex).
type instance struct {
	e       *Engine
	appName string
	name    string // "APP/INSTANCE"
	log     zerolog.Logger
	loop    *jsloop.Loop
	refs    int // connections on their way in (Engine.mu)
	// idleSince is when the instance, having served clients, was left with none; zero while it
	// has clients or one on its way (Engine.mu). At an instance cap, the longest idle one is
	// unloaded to make room (evictIdle).
	idleSince time.Time
	// rules is the app.json the sessions follow (sendBWDone, recordPublishes), for other
	// goroutines: the app swaps on reload, and a config is never changed once parsed.
	rules atomic.Pointer[AppConfig]
	// reportingError is set while application.onStatus handles a script error (loop-owned).
	reportingError bool
	maxConns       int
	// so outlives generations (hot reload keeps shared objects); safe from any goroutine.
	so *sharedobject.Registry
	// hub is the instance's live streams: it lives exactly as long as the instance (one owner,
	// one lifetime for the JS loop, the shared objects and the streams); safe from any goroutine.
	hub      *live.Hub
	soAccess soAccess
	soEvents soEventQueue
	plugins  pluginCalls // application.plugins calls in flight
	// files is what File objects reach (all generations); web makes LoadVars/XML requests.
	files appfs.FS
	web   *webclient.Client

	app      *App
	gen      *generation // nil while the code fails to load
	loadErr  error
	clients  []*Client // pending and accepted, in arrival order
	rpcs     map[*pendingRPC]struct{}
	idleSeq  int
	unloaded bool
	// served is set once a client has been accepted: an instance that never served anyone is
	// unloaded as soon as its last connect is over instead of after idleUnloadSeconds.
	served   bool
	connects uint64
	leaves   uint64
}

// generation is one version of the app's code running in one runtime.
type generation struct {
	rt        *goja.Runtime
	app       *jsapi.App
	objs      map[*Client]*jsapi.Client
	builtins  map[string]bool // global keys before the app's code ran
	top       jsapi.TopLevel  // the entry file's top-level let, const and class names
	baseGlob  map[string]any  // globals / let bindings / application props as start-up left them (AMF model)
	baseLets  map[string]any
	baseApp   map[string]any
	sos       *soScript    // the SharedObject class of this runtime
	accessFns []goja.Value // shared readAccess/writeAccess getter and setter pairs
}

// pendingRPC is a client call whose handler returned a Promise not settled yet.
type pendingRPC struct {
	c   *Client
	txn float64
}

// startInstance makes the instance and queues its start (code top level, then onAppStart). Called
// with e.mu held; it does not block.
func (e *Engine) startInstance(app *App, instName string) *instance {
	appName := app.Name
	inst := &instance{e: e, appName: appName, name: appName + "/" + instName, app: app,
		rpcs: map[*pendingRPC]struct{}{}}
	inst.log = e.log.With().Str("app", appName).Str("instance", instName).Logger()
	inst.so = inst.newSharedObjects(instName)
	inst.hub = live.NewHub(e.cfg.Live, inst.log)
	inst.rules.Store(&app.Config)
	inst.files = inst.instanceFiles()
	inst.web = e.newWebClient()
	cfg := app.Config
	retained, share, window := e.cfg.Contain.containFor(cfg)
	inst.loop = jsloop.New(jsloop.Options{
		HandlerBudget:      cfg.HandlerTimeout(),
		MemoryLimitBytes:   uint64(cfg.MemoryLimitMB) << 20,
		Sampler:            e.sampler,
		RetainedLimitBytes: retained,
		CPUShare:           share,
		CPUWindow:          window,
		Logger:             e.log,
		Name:               inst.name,
		OnFatal:            inst.fatal,
		OnError:            inst.scriptError,
	})
	inst.loop.Start()
	// Start-up (top level, onAppStart) gets the reload budget: a slow first run is not runaway code.
	_ = inst.loop.PostBudget(func(*goja.Runtime) error { inst.start(); return nil }, ReloadBudget)
	inst.log.Info().Msg("instance starting")
	return inst
}

// post queues fn on the loop without blocking the caller; when the queue is full, a goroutine
// waits for space (these are control events that must not be lost).
func (inst *instance) post(fn func()) {
	job := func(*goja.Runtime) error { fn(); return nil }
	if err := inst.loop.Post(job); !errors.Is(err, jsloop.ErrQueueFull) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = inst.loop.PostWait(ctx, job)
	}()
}

// start loads the first generation.
func (inst *instance) start() {
	prg, err := inst.e.compile(inst.app)
	if err == nil {
		var g *generation
		g, err = inst.build(inst.loop.Runtime(), prg, false)
		if err == nil {
			inst.gen = g
			inst.emit(plugin.EvAppLoad, "")
			return
		}
	}
	inst.loadErr = err
	inst.emit(plugin.EvAppError, jsloop.FormatError(err))
	inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("application failed to load; its connections are rejected until it is fixed")
}

// build runs the app's code in rt as a new generation: the object model, the top level, then
// onAppStart. sandboxed is true for a reload (effects are no-ops until the commit).
func (inst *instance) build(rt *goja.Runtime, prg *goja.Program, reload bool) (*generation, error) {
	// Built-ins that can build a huge result in one call get a per-result cap (APP-API.md
	// "Containment"), before any app code runs.
	if err := jsapi.InstallContainment(rt, 0); err != nil {
		return nil, err
	}
	wrapTimers(rt)
	g := &generation{rt: rt, objs: map[*Client]*jsapi.Client{}, top: inst.e.tops.entry(inst.app)}
	app, err := jsapi.NewApp(rt, jsapi.AppOptions{
		Name: inst.name, Dir: inst.app.Dir, LibDir: inst.e.cfg.ScriptLibDir, Config: inst.app.Config.Config,
		Server: ServerName, Hostname: inst.e.hostname, Log: inst.e.log, ReadSource: readSource,
		Host: &genHost{inst: inst, gen: g}, Files: inst.files, Web: inst.web, Reserve: inst.loop.Reserve, Done: inst.loop.Done(),
	})
	if err != nil {
		return nil, err
	}
	g.app = app
	app.Sandboxed = reload
	if err := inst.installPlugins(g); err != nil {
		return nil, err
	}
	if err := g.installSharedObjects(inst.so); err != nil {
		return nil, err
	}
	g.builtins = map[string]bool{}
	for _, k := range rt.GlobalObject().Keys() {
		g.builtins[k] = true
	}
	if prg != nil {
		if _, err := rt.RunProgram(prg); err != nil {
			return nil, err
		}
	}
	code := "Application.Start"
	if reload {
		code = "Application.Reload"
	}
	if _, _, err := app.CallHandler("onAppStart", app.Info(code)); err != nil {
		return nil, err
	}
	g.snapshotBase()
	return g, nil
}

// fatal is the loop's OnFatal: the instance passed a memory or CPU bound and its loop has ended.
func (inst *instance) fatal(err error) {
	inst.log.Error().Err(err).Msg("instance unloaded")
	inst.emit(plugin.EvAppError, err.Error())
	inst.e.countFatal(err)
	inst.e.forget(inst, true)
	if inst.gen != nil {
		inst.gen.app.CloseFiles()
	}
	inst.gen = nil
	inst.closeFiles()
	inst.closeAll("application stopped: " + err.Error())
	inst.closeSharedObjects()
	inst.hub.Close()
}

// unload stops the instance: onAppStop, clients get AppShutdown, the loop ends.
func (inst *instance) unload(code, why string) {
	if inst.unloaded {
		return
	}
	inst.unloaded = true
	inst.e.forget(inst, true)
	if g := inst.gen; g != nil {
		if _, _, err := g.app.CallHandler("onAppStop", g.app.Info(code)); err != nil {
			inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("onAppStop failed")
		}
		g.app.Sandboxed = true
		g.app.CloseFiles()
	}
	inst.closeFiles()
	inst.closeAll(why)
	inst.closeSharedObjects()
	inst.hub.Close()
	inst.log.Info().Str("reason", why).Msg("instance unloaded")
	inst.emit(plugin.EvAppUnload, why)
	inst.loop.Stop()
}

// closeAll tells every client the app is gone.
func (inst *instance) closeAll(why string) {
	for _, c := range inst.clients {
		if c.state != stateClosed {
			c.state = stateClosed
			c.stopTimer()
			c.sess.Close("AppShutdown", why)
		}
	}
	inst.clients = nil
}

// checkIdle arms the idle unload once no client is left: after idleUnloadSeconds, or as the next
// job (after onConnectReject) when the instance never accepted a client, so that rejected
// connects leave nothing behind.
func (inst *instance) checkIdle() {
	if len(inst.clients) > 0 || inst.unloaded {
		return
	}
	inst.idleSeq++
	seq := inst.idleSeq
	idle := func() {
		if seq != inst.idleSeq || len(inst.clients) > 0 || inst.unloaded {
			return
		}
		// Write persistent shared objects while this instance still owns the name: once it is
		// forgotten, a new instance of the same name may load them from disk at once.
		if err := inst.so.Flush(); err != nil {
			inst.log.Error().Err(err).Msg("shared objects not all written before the idle unload")
		}
		if !inst.e.forget(inst, false) {
			return
		}
		inst.unload("Application.Shutdown", "idle")
	}
	d := inst.app.Config.IdleUnload()
	if !inst.served {
		inst.post(idle)
		return
	}
	if d <= 0 {
		idle()
		return
	}
	inst.e.markIdle(inst)
	time.AfterFunc(d, func() { _ = inst.loop.Post(func(*goja.Runtime) error { idle(); return nil }) })
}

// genHost is jsapi.Host for one generation.
type genHost struct {
	inst *instance
	gen  *generation
}

func (h *genHost) Decide(jc *jsapi.Client, d jsapi.Decision) {
	h.inst.decide(jc.Peer.(*Client), d)
}

func (h *genHost) Disconnect(jc *jsapi.Client) {
	h.inst.kick(jc.Peer.(*Client))
}

func (h *genHost) Shutdown() {
	inst := h.inst
	_ = inst.loop.Post(func(*goja.Runtime) error {
		inst.unload("Application.Shutdown", "application shut down")
		return nil
	})
}

func (h *genHost) CallClient(jc *jsapi.Client, method string, args []any, answer func(any, *amf.Object)) {
	c := jc.Peer.(*Client)
	if c.state != stateAccepted {
		return
	}
	if answer == nil {
		c.sess.Call(method, args, nil)
		return
	}
	inst, g := h.inst, h.gen
	c.sess.Call(method, args, func(v any, errInfo *amf.Object) {
		_ = inst.loop.Post(func(*goja.Runtime) error {
			if inst.gen == g { // answers to calls of a replaced generation are dropped
				answer(v, errInfo)
			}
			return nil
		})
	})
}

func (h *genHost) ClientStats(jc *jsapi.Client) jsapi.ClientStats {
	return jsapi.ClientStats(jc.Peer.(*Client).sess.Stats())
}

func (h *genHost) AppStats() map[string]any {
	inst := h.inst
	var s ClientStats
	n := 0
	for _, c := range inst.clients {
		if c.state == stateAccepted {
			n++
			cs := c.sess.Stats()
			s.BytesIn += cs.BytesIn
			s.BytesOut += cs.BytesOut
			s.MsgIn += cs.MsgIn
			s.MsgOut += cs.MsgOut
		}
	}
	return map[string]any{
		"total_connects": inst.connects, "total_disconnects": inst.leaves, "connected": n,
		"bytes_in": s.BytesIn, "bytes_out": s.BytesOut, "msg_in": s.MsgIn, "msg_out": s.MsgOut,
	}
}

func (h *genHost) Track(path string) {
	h.inst.log.Debug().Str("path", path).Msg("tracking loaded file")
	h.inst.e.watcher.Track(h.inst.appName, path)
}

// scriptError hands an uncaught script error to application.onStatus (FMS reports errors there),
// as a job of its own under the watchdog. An error thrown by onStatus itself is not reported
// again (reportingError is still set when its OnError arrives).
func (inst *instance) scriptError(err error) {
	if inst.reportingError {
		inst.reportingError = false
		return
	}
	_ = inst.loop.Post(func(*goja.Runtime) error {
		g := inst.gen
		if g == nil || inst.unloaded {
			return nil
		}
		info := g.rt.NewObject()
		_ = info.Set("level", "error")
		_ = info.Set("code", "Application.Script.Error")
		_ = info.Set("description", jsloop.FormatError(err))
		inst.reportingError = true
		if _, _, err := g.app.CallHandler("onStatus", info); err != nil {
			return err // reported once, without another onStatus
		}
		inst.reportingError = false
		return nil
	})
}
