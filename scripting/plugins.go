package scripting

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// MaxPluginCalls is how many application.plugins calls one instance may have in flight (a
// module's Call running, or its result not yet delivered to the loop); a call beyond it
// rejects at once, so a slow module costs an instance a bounded number of goroutines.
const MaxPluginCalls = 64

// rpcService is one rpc module as the engine offers it to every instance.
type rpcService struct {
	name    string
	methods []string
	budget  time.Duration
	svc     plugin.RPCService
}

// newRPCServices lists the engine's rpc modules by name, asking each for its methods once.
func newRPCServices(services map[string]plugin.RPCService) []rpcService {
	out := make([]rpcService, 0, len(services))
	for name, svc := range services {
		b := plugin.DefaultRPCBudget
		if bd, ok := svc.(plugin.Budgeted); ok && bd.Budget() > 0 {
			b = bd.Budget()
		}
		out = append(out, rpcService{name: name, methods: svc.RPCMethods(), budget: b, svc: svc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pluginCalls is an instance's side of the rpc extension point. busy is counted from any
// goroutine; ctx and cancel belong to the loop.
type pluginCalls struct {
	busy   atomic.Int32
	ctx    context.Context // ends with the instance's loop; made at the first call
	cancel context.CancelFunc
}

// context returns the instance's call context, making it (and the goroutine that ends it
// with the loop) on first use: an instance that calls no module costs nothing.
func (pc *pluginCalls) context(inst *instance) context.Context {
	if pc.ctx == nil {
		pc.ctx, pc.cancel = context.WithCancel(context.Background())
		done, cancel := inst.loop.Done(), pc.cancel
		go func() { <-done; cancel() }()
	}
	return pc.ctx
}

// genPlugins is application.plugins of one generation.
type genPlugins struct {
	inst     *instance
	g        *generation
	errCtor  goja.Value // the runtime's own Error, taken before the app's code runs
	held     []*pluginCall
	heldSent bool
}

// installPlugins defines application.plugins (read-only, not enumerable): one object per rpc
// service, holding one function per method. A dotted call name from a client never walks into
// them, and their functions are never a client's to call.
func (inst *instance) installPlugins(g *generation) error {
	rt, app := g.rt, g.app
	gp := &genPlugins{inst: inst, g: g, errCtor: rt.GlobalObject().Get("Error")}
	all := rt.NewObject()
	app.DenyWalk(all)
	for i := range inst.e.rpc {
		s := &inst.e.rpc[i]
		obj := rt.NewObject()
		app.DenyWalk(obj)
		for _, m := range s.methods {
			fn := rt.ToValue(gp.method(s, m))
			app.DenyCalls(fn)
			if err := obj.DefineDataProperty(m, fn, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
				return fmt.Errorf("application.plugins.%s.%s: %w", s.name, m, err)
			}
		}
		if err := all.DefineDataProperty(s.name, obj, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
			return fmt.Errorf("application.plugins.%s: %w", s.name, err)
		}
	}
	return app.Application.DefineDataProperty("plugins", all, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// pluginCall is one call from JS, from its arguments to its settled Promise.
type pluginCall struct {
	gp      *genPlugins
	s       *rpcService
	method  string
	args    []any
	resolve func(any) error
	reject  func(any) error
	// enqueue delivers the settlement to the loop (jsloop.Reserve: never refused for a full
	// queue, dropped once the loop is gone); settled makes it happen once (result or budget).
	enqueue func(jsloop.Job)
	settled atomic.Bool
	// parties are the call's goroutine and its settlement job: the last one done frees the
	// instance's slot.
	parties atomic.Int32
}

// method is the JS function application.plugins.NAME.method: it converts the arguments on the
// loop and returns a Promise. While the generation is sandboxed (a reload building it, or the
// old one after the swap), nothing leaves the runtime: the call is held until the generation
// takes over, and never made if it does not.
func (gp *genPlugins) method(s *rpcService, method string) func(goja.FunctionCall) goja.Value {
	return func(fc goja.FunctionCall) goja.Value {
		rt := gp.g.rt
		p, resolve, reject := rt.NewPromise()
		c := &pluginCall{gp: gp, s: s, method: method, resolve: resolve, reject: reject}
		args, err := gp.args(fc.Arguments)
		switch {
		case err != nil:
			c.fail(fmt.Sprintf("%s: %v", c.where(), err))
		case gp.g.app.Sandboxed:
			c.args = args
			gp.hold(c)
		default:
			c.args = args
			c.start()
		}
		return rt.ToValue(p)
	}
}

func (c *pluginCall) where() string {
	return "application.plugins." + c.s.name + "." + c.method
}

// args converts JS arguments to the plain values of the rpc extension point.
func (gp *genPlugins) args(vals []goja.Value) ([]any, error) {
	out := make([]any, len(vals))
	for i, v := range vals {
		m, err := gp.g.app.Conv.FromJS(v)
		if err == nil {
			out[i], err = plainArg(m)
		}
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return out, nil
}

// fail rejects the call's Promise now (on the loop) with an Error of message msg.
func (c *pluginCall) fail(msg string) {
	_ = c.reject(c.gp.jsError(msg))
}

// jsError makes an Error of the runtime's own class (a Go error object would put Go methods
// within the script's reach).
func (gp *genPlugins) jsError(msg string) goja.Value {
	rt := gp.g.rt
	if ctor, ok := gp.errCtor.(*goja.Object); ok {
		if e, err := rt.New(ctor, rt.ToValue(msg)); err == nil {
			return e
		}
	}
	return rt.ToValue(msg)
}

// hold keeps a sandboxed generation's call for when it takes over (at most MaxPluginCalls).
func (gp *genPlugins) hold(c *pluginCall) {
	if len(gp.held) >= MaxPluginCalls {
		c.fail(fmt.Sprintf("%s: more than %d calls while the application reloads", c.where(), MaxPluginCalls))
		return
	}
	gp.held = append(gp.held, c)
	if !gp.heldSent {
		gp.heldSent = true
		gp.inst.loop.Reserve()(func(*goja.Runtime) error { gp.release(); return nil })
	}
}

// release starts the held calls once the generation runs (the job after the reload); calls of
// a generation that did not take over are dropped with it.
func (gp *genPlugins) release() {
	held := gp.held
	gp.held, gp.heldSent = nil, false
	if gp.inst.gen != gp.g || gp.g.app.Sandboxed || gp.inst.unloaded {
		return
	}
	for _, c := range held {
		c.start()
	}
}

// start runs the module's Call on a goroutine of its own, under the service's budget and the
// instance's context, unless the instance has MaxPluginCalls in flight.
func (c *pluginCall) start() {
	inst := c.gp.inst
	pc := &inst.plugins
	if pc.busy.Add(1) > MaxPluginCalls {
		pc.busy.Add(-1)
		c.fail(fmt.Sprintf("%s: %d calls already in flight in this instance", c.where(), MaxPluginCalls))
		return
	}
	c.parties.Store(2)
	c.enqueue = inst.loop.Reserve()
	go c.run(pc.context(inst))
}

// run is the call's goroutine. The Promise settles with Call's answer or at the budget,
// whichever comes first; the slot is freed once Call has returned too (this goroutine's part
// is done before the answer goes to the loop, so a script that saw the answer finds the slot
// free).
func (c *pluginCall) run(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, c.s.budget)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.settle(nil, c.timeout(ctx)) })
	v, err := c.invoke(ctx)
	stop()
	c.done()
	if err == nil {
		v, err = plainResult(v)
		if err != nil {
			err = fmt.Errorf("%s: %w", c.where(), err)
		}
	} else if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = c.timeout(ctx)
	}
	c.settle(v, err)
}

// timeout is the rejection of a call whose context ended before its answer.
func (c *pluginCall) timeout(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %v", c.where(), c.s.budget)
	}
	return fmt.Errorf("%s: %w", c.where(), ctx.Err())
}

// invoke calls the module; a panic becomes the call's error and a log line with its stack.
func (c *pluginCall) invoke(ctx context.Context) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.gp.inst.log.Error().Str("module", c.s.name).Str("method", c.method).
				Str("panic", fmt.Sprint(r)).Bytes("stack", debug.Stack()).Msg("rpc module panicked")
			v, err = nil, fmt.Errorf("%s: the module failed (panic: %v)", c.where(), r)
		}
	}()
	inst := c.gp.inst
	return c.s.svc.Call(ctx, &plugin.RPCCall{App: inst.appName, Instance: inst.instName(), Method: c.method, Args: c.args})
}

// settle hands the outcome to the loop, once; the job resolves or rejects the Promise if its
// generation still runs there.
func (c *pluginCall) settle(v any, err error) {
	if !c.settled.CompareAndSwap(false, true) {
		return
	}
	c.enqueue(func(*goja.Runtime) error {
		c.done() // before the Promise settles: a script (or client) that sees the answer finds the slot free
		gp := c.gp
		if gp.inst.gen != gp.g || gp.inst.unloaded {
			return nil // a replaced generation's promise: its runtime is gone
		}
		if err != nil {
			return c.reject(gp.jsError(err.Error()))
		}
		return c.resolve(gp.g.app.Conv.ToJS(v))
	})
}

// done is called by each party of a started call; the last frees its slot.
func (c *pluginCall) done() {
	if c.parties.Add(-1) == 0 {
		c.gp.inst.plugins.busy.Add(-1)
	}
}

// instName is the instance's name within its app ("_definst_" by default).
func (inst *instance) instName() string { return inst.name[len(inst.appName)+1:] }
