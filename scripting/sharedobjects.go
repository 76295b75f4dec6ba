package scripting

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// soAccess is what the registry's Access hook reads: each connected client's readAccess and
// writeAccess lists by connection id. The hook runs on connection goroutines with the registry's
// lock held, so it cannot ask the runtime: the script's Client object writes through to
// the client's atomic copies instead (see defineAccess).
type soAccess struct {
	byID sync.Map // connection id -> *Client
}

// newSharedObjects makes the instance's registry: limits from app.json, the engine's sostore
// module, else a store under the engine's data folder (none without one), the access lists of the clients, and hooks that run
// the script's onSync and message handlers on the instance loop.
func (inst *instance) newSharedObjects(instName string) *sharedobject.Registry {
	lim := inst.app.Config.SharedObjects
	cfg := sharedobject.Config{
		Limits:            sharedobject.Limits{MaxSlots: lim.MaxSlots, MaxBytes: int(min(lim.MaxBytes, int64(^uint(0)>>1))), MaxObjects: lim.MaxObjects},
		Access:            inst.soAccess.allowed,
		ClientPersistence: inst.app.Config.PersistentSharedObjects,
		Logger:            inst.log,
	}
	if ext := inst.e.cfg.SOStore; ext != nil {
		cfg.Store = sharedobject.NewExternalStore(ext, inst.appName, instName, soStoreBudget(ext))
		cfg.Quota = inst.e.diskQuota(inst.appName, lim.DiskQuotaMB)
	} else if dir := inst.e.cfg.DataDir; dir != "" {
		st, err := sharedobject.NewStore(dir, inst.appName, instName)
		if err != nil {
			inst.log.Warn().Err(err).Msg("persistent shared objects refused: no store for this instance")
			cfg.StoreErr = err
		} else {
			cfg.Store = st
			cfg.Quota = inst.e.diskQuota(inst.appName, lim.DiskQuotaMB)
		}
	}
	cfg.OnSync = func(so *sharedobject.Object, list []sharedobject.SyncItem) {
		inst.soEvents.add(inst, func() { inst.soSync(so, list) })
	}
	cfg.OnMessage = func(so *sharedobject.Object, _ string, method string, args []any) {
		inst.soEvents.add(inst, func() { inst.soMessage(so, method, args) })
	}
	return sharedobject.New(cfg)
}

// soStoreBudget is the time of each call of a sostore module.
func soStoreBudget(st plugin.SOStore) time.Duration {
	if b, ok := st.(plugin.Budgeted); ok && b.Budget() > 0 {
		return b.Budget()
	}
	return plugin.DefaultSOStoreBudget
}

// Bounds of the script callbacks that clients' shared-object traffic causes.
const (
	maxPendingSOEvents = 4096 // waiting for the loop; more are dropped (with one log line per burst)
	soEventsPerJob     = 1    // each callback is its own loop job: its own handler budget, other events interleave
)

// soEventQueue carries onSync and handler calls from connection goroutines to the instance
// loop through one bounded queue and at most one scheduled loop job, so that a client flooding
// changes cannot pile up jobs or goroutines.
type soEventQueue struct {
	mu        sync.Mutex
	pending   []func()
	scheduled bool
	dropped   int
}

func (q *soEventQueue) add(inst *instance, f func()) {
	q.mu.Lock()
	if len(q.pending) >= maxPendingSOEvents {
		if q.dropped++; q.dropped == 1 {
			inst.log.Warn().Int("limit", maxPendingSOEvents).Msg("shared object callbacks dropped: the script is not keeping up")
		}
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, f)
	schedule := !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	if schedule {
		inst.post(func() { q.run(inst) })
	}
}

// run calls a slice of the pending callbacks on the loop and schedules itself again if more wait.
func (q *soEventQueue) run(inst *instance) {
	q.mu.Lock()
	n := min(len(q.pending), soEventsPerJob)
	batch := q.pending[:n:n]
	q.pending = q.pending[n:]
	more := len(q.pending) > 0
	q.scheduled = more
	if !more {
		q.pending, q.dropped = nil, 0
	}
	q.mu.Unlock()
	for _, f := range batch {
		f()
	}
	if more {
		inst.post(func() { q.run(inst) })
	}
}

func (inst *instance) soSync(so *sharedobject.Object, list []sharedobject.SyncItem) {
	if g := inst.gen; g != nil && !inst.unloaded {
		if err := g.sos.sync(so, list); err != nil {
			inst.log.Error().Str("so", so.Name()).Str("err", jsloop.FormatError(err)).Msg("onSync threw")
		}
	}
}

func (inst *instance) soMessage(so *sharedobject.Object, method string, args []any) {
	if g := inst.gen; g != nil && !inst.unloaded {
		if err := g.sos.message(so, method, args); err != nil {
			inst.log.Error().Str("so", so.Name()).Str("method", method).Str("err", jsloop.FormatError(err)).Msg("shared object handler threw")
		}
	}
}

// closeSharedObjects writes what is unsaved and drops every object (the instance is going away).
func (inst *instance) closeSharedObjects() {
	if err := inst.so.Close(); err != nil {
		inst.log.Error().Err(err).Msg("shared objects not all written")
	}
}

// SendBWDone reports app.json's sendBWDone: whether the server calls onBWDone after connect.
func (c *Client) SendBWDone() bool { return c.inst.rules.Load().SendBWDone }

// RecordPublishes reports app.json's recordPublishes: the record type ("record", "append",
// "appendWithGap") a live publish of the app is recorded with, "" for none.
func (c *Client) RecordPublishes() string { return c.inst.rules.Load().RecordPublishes }

// SharedObjects is the registry of the client's app instance: the connection hands its
// shared-object messages straight to it (it is safe from any goroutine), and calls Disconnect
// on it when it ends.
func (c *Client) SharedObjects() *sharedobject.Registry { return c.inst.so }

func (a *soAccess) add(c *Client)    { a.byID.Store(c.sess.ID(), c) }
func (a *soAccess) remove(c *Client) { a.byID.CompareAndDelete(c.sess.ID(), c) }

// allowed is the registry's Access hook: an unknown client (already gone) may do nothing.
func (a *soAccess) allowed(clientID, path string, write bool) bool {
	v, ok := a.byID.Load(clientID)
	if !ok {
		return false
	}
	return v.(*Client).mayAccess(path, write)
}

// defineAccess makes readAccess and writeAccess of a client's script object accessors over the
// client's atomic copies, so that the access hook sees what the script assigned. The accessor
// functions are made once per generation and find their client through `this`: per-client
// closures would cost every connected client a few KiB.
func (g *generation) defineAccess(obj *goja.Object) {
	if g.accessFns == nil {
		g.accessFns = make([]goja.Value, 0, 4)
		for _, field := range []func(*Client) *atomic.Pointer[string]{
			func(c *Client) *atomic.Pointer[string] { return &c.readAccess },
			func(c *Client) *atomic.Pointer[string] { return &c.writeAccess },
		} {
			g.accessFns = append(g.accessFns, g.rt.ToValue(func(call goja.FunctionCall) goja.Value {
				if c := g.clientOf(call.This); c != nil {
					if s := field(c).Load(); s != nil {
						return g.rt.ToValue(*s)
					}
				}
				return g.rt.ToValue("/")
			}), g.rt.ToValue(func(call goja.FunctionCall) goja.Value {
				if c := g.clientOf(call.This); c != nil {
					s := call.Argument(0).String()
					field(c).Store(&s)
				}
				return goja.Undefined()
			}))
		}
	}
	_ = obj.DefineAccessorProperty("readAccess", g.accessFns[0], g.accessFns[1], goja.FLAG_TRUE, goja.FLAG_TRUE)
	_ = obj.DefineAccessorProperty("writeAccess", g.accessFns[2], g.accessFns[3], goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// clientOf returns the engine's Client behind a script Client object, or nil.
func (g *generation) clientOf(v goja.Value) *Client {
	jc := g.app.ClientOf(v)
	if jc == nil {
		return nil
	}
	c, _ := jc.Peer.(*Client)
	return c
}

// Gone is closed once the client's app instance has stopped (unloaded, restarted after a fatal
// error, or the engine closed): a connect still waiting for its verdict then never gets one.
func (c *Client) Gone() <-chan struct{} { return c.inst.loop.Done() }
