package scripting

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// hook is one hook folder's script on its own loop. The loop lives as long as the hook; a reload
// swaps the generation inside it, so its CPU and memory accounting carry over.
type hook struct {
	h     *Hooks
	name  string
	entry string
	// jsName is the loop's name, "hooks/NAME", which its log lines and JS errors carry.
	jsName string
	log    zerolog.Logger
	loop   *jsloop.Loop

	gen *hookGen // loop-owned; nil until the code has run once without error
}

// hookGen is one version of a hook's code in one runtime.
type hookGen struct {
	rt      *goja.Runtime
	server  *goja.Object
	pending map[*hookCall]struct{} // requests whose handler returned a Promise not settled yet
}

// hookCall is one request put to one hook. req is the caller's copy: the loop reads it, never
// the caller's Request, so a caller that gave up is not raced. The answer channel holds one
// answer, so the loop never waits for the caller.
type hookCall struct {
	req    plugin.Request
	answer chan hookAnswer

	// Loop-owned.
	gen    *hookGen // the generation asked (a reload asks the new one)
	done   bool
	expiry *time.Timer
}

// hookAnswer is a hook's decision and the writable fields it set.
type hookAnswer struct {
	d   plugin.Decision
	set writable
}

// handlerNames are the server.* handlers of the auth actions.
var handlerNames = [...]string{plugin.ActConnect: "onConnect", plugin.ActPublish: "onPublish", plugin.ActPlay: "onPlay",
	plugin.ActSeek: "onSeek", plugin.ActRecord: "onRecord", plugin.ActSharedObject: "onSharedObject"}

func (h *Hooks) newHook(name, entry string) *hook {
	hk := &hook{h: h, name: name, entry: entry, jsName: "hooks/" + name, log: h.log.With().Str("hook", name).Logger()}
	retained, share, window := h.cfg.Contain.containFor(AppConfig{})
	hk.loop = jsloop.New(jsloop.Options{
		HandlerBudget:      h.cfg.HandlerTimeout,
		MemoryLimitBytes:   uint64(h.cfg.MemoryLimitMB) << 20,
		Sampler:            h.sampler,
		RetainedLimitBytes: retained,
		CPUShare:           share,
		CPUWindow:          window,
		Logger:             h.log,
		Name:               hk.jsName,
		OnFatal:            hk.fatal,
	})
	hk.loop.Start()
	return hk
}

func (hk *hook) dead() bool {
	select {
	case <-hk.loop.Done():
		return true
	default:
		return false
	}
}

func (hk *hook) compile() (*goja.Program, error) {
	return hk.h.cache.Compile(hk.entry, filepath.ToSlash(filepath.Join("hooks", hk.name, HookEntry)))
}

// errLoadAborted: the first run of a hook's code ended without a result (its loop stopped it).
var errLoadAborted = errors.New("the code's first run was aborted")

// load runs the code once as the first generation and waits for the result.
func (hk *hook) load() error {
	prg, err := hk.compile()
	if err != nil {
		return err
	}
	res := make(chan error, 1)
	job := func(rt *goja.Runtime) error {
		out := errLoadAborted
		defer func() { res <- out }()
		g, err := hk.build(rt, prg)
		if err != nil {
			out = jsloop.WrapError(hk.jsName, err)
			return nil
		}
		hk.gen, out = g, nil
		return nil
	}
	if err := hk.loop.PostBudget(job, ReloadBudget); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-hk.loop.Done():
		return errHookDown
	}
}

// build runs the code in rt: containment, the globals, then the top level.
func (hk *hook) build(rt *goja.Runtime, prg *goja.Program) (*hookGen, error) {
	if err := jsapi.InstallContainment(rt, 0); err != nil {
		return nil, err
	}
	g := &hookGen{rt: rt, server: rt.NewObject(), pending: map[*hookCall]struct{}{}}
	if err := installHookGlobals(rt, g.server, hk.log); err != nil {
		return nil, err
	}
	if _, err := rt.RunProgram(prg); err != nil {
		return nil, err
	}
	return g, nil
}

// reload compiles the edited code and swaps it in on the loop; a syntax error leaves the running
// code in place. Called by the run goroutine.
func (hk *hook) reload() {
	prg, err := hk.compile()
	if err != nil {
		hk.log.Error().Str("err", err.Error()).Msg("hook reload skipped: the new code does not compile; the running code stays")
		hk.h.reloaded(hk.name, err)
		return
	}
	job := func(*goja.Runtime) error {
		hk.h.reloaded(hk.name, hk.swap(prg))
		return nil
	}
	if err := hk.loop.PostBudget(job, ReloadBudget); err != nil {
		hk.log.Warn().Err(err).Msg("hook reload not queued")
		hk.h.reloaded(hk.name, err)
	}
}

// swap builds the new generation in a new runtime and, if its top level ran, makes it the one
// requests meet; requests pending in the old one are asked again by the new code.
func (hk *hook) swap(prg *goja.Program) error {
	old := hk.gen
	rt := hk.loop.NewRuntime()
	g, err := hk.build(rt, prg)
	if err != nil {
		hk.loop.DropRuntime(rt)
		err = jsloop.WrapError(hk.jsName, err)
		hk.log.Error().Str("err", jsloop.FormatError(err)).Msg("hook reload failed; the running code stays")
		return err
	}
	if cur := hk.loop.Runtime(); cur != rt {
		hk.loop.DropRuntime(cur)
	}
	hk.loop.SwapRuntime(rt)
	hk.gen = g
	if old != nil {
		for c := range old.pending {
			delete(old.pending, c)
			hk.ask(c)
		}
	}
	hk.log.Info().Msg("hook reloaded")
	return nil
}

// fatal is the loop's OnFatal: the hook passed a memory or CPU bound. Until it restarts, every
// request is refused.
func (hk *hook) fatal(err error) {
	hk.log.Error().Err(err).Dur("restart_in", HookRestartDelay).Msg("hook stopped; requests are refused until it restarts")
	hk.h.restartLater(hk)
}

// authorize puts req to the hook and waits for its answer within ctx; it runs on the caller's
// (a session's) goroutine, the handler on the hook's loop, at once when the loop is idle.
func (hk *hook) authorize(ctx context.Context, req *plugin.Request) plugin.Decision {
	c := &hookCall{req: *req, answer: make(chan hookAnswer, 1)}
	job := func(*goja.Runtime) error { hk.ask(c); return nil }
	if !hk.loop.RunInline(job) {
		if err := hk.loop.Post(job); err != nil {
			return hk.refused(req, fmt.Errorf("request not queued: %w", err))
		}
	}
	select {
	case a := <-c.answer:
		return a.apply(req)
	default:
	}
	select {
	case a := <-c.answer:
		return a.apply(req)
	case <-ctx.Done():
		return hk.refused(req, fmt.Errorf("no decision in time: %w", ctx.Err()))
	case <-hk.loop.Done():
		return hk.refused(req, errHookDown)
	}
}

// refused is the fail-closed decision of a request the hook could not answer.
func (hk *hook) refused(req *plugin.Request, err error) plugin.Decision {
	hk.log.Warn().Str("action", req.Action.String()).Str("client", req.ClientID).Str("stream", req.Stream).
		Err(err).Msg("hook gave no decision; request refused")
	return plugin.Decision{Verdict: plugin.Reject, Reason: "refused by hook " + hk.name}
}

// ask runs the handler of c's action in the current generation (on the loop).
func (hk *hook) ask(c *hookCall) {
	g := hk.gen
	c.gen = g
	if g == nil {
		hk.settle(c, g, hookAnswer{d: plugin.Decision{Verdict: plugin.Reject, Reason: "refused by hook " + hk.name}},
			errors.New("the hook's code is not loaded"))
		return
	}
	var name string
	if int(c.req.Action) < len(handlerNames) {
		name = handlerNames[c.req.Action]
	}
	defer func() {
		if r := recover(); r != nil {
			hk.fail(c, g, panicError(r))
		}
	}()
	fn, ok := goja.AssertFunction(g.server.Get(name))
	if name == "" || !ok {
		hk.settle(c, g, hookAnswer{d: plugin.Decision{Verdict: plugin.Abstain}}, nil)
		return
	}
	v, err := fn(g.server, requestObject(g.rt, &c.req))
	if err != nil {
		hk.fail(c, g, err)
		return
	}
	hk.result(c, g, v)
}

// result settles c with a handler's return value, or waits for it when it is a Promise.
func (hk *hook) result(c *hookCall, g *hookGen, v goja.Value) {
	p, ok := asPromise(v)
	if !ok {
		a, err := hk.verdict(&c.req, v)
		hk.settle(c, g, a, err)
		return
	}
	g.pending[c] = struct{}{}
	enqueue := hk.loop.Reserve()
	c.expiry = time.AfterFunc(hk.h.cfg.Budget, func() {
		enqueue(func(*goja.Runtime) error { hk.expire(c, g); return nil })
	})
	then, ok := goja.AssertFunction(p.Get("then"))
	if !ok {
		hk.fail(c, g, errors.New("the returned Promise has no then method"))
		return
	}
	onValue := func(call goja.FunctionCall) goja.Value {
		defer hk.recoverIn(c, g)
		a, err := hk.verdict(&c.req, call.Argument(0))
		hk.settle(c, g, a, err)
		return goja.Undefined()
	}
	onError := func(call goja.FunctionCall) goja.Value {
		defer hk.recoverIn(c, g)
		hk.fail(c, g, rejection(g.rt, call.Argument(0)))
		return goja.Undefined()
	}
	if _, err := then(p, g.rt.ToValue(onValue), g.rt.ToValue(onError)); err != nil {
		hk.fail(c, g, err)
	}
}

// recoverIn refuses c when reading a settled Promise's value panicked (a throwing getter)
// inside a Go function JS called; an interrupt goes on up, so that the job still ends.
func (hk *hook) recoverIn(c *hookCall, g *hookGen) {
	r := recover()
	if r == nil {
		return
	}
	hk.fail(c, g, panicError(r))
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	if err, ok := r.(error); ok && (errors.As(err, &ie) || errors.As(err, &so)) {
		panic(r)
	}
}

// expire forgets a pending call whose caller's budget is over (the caller has refused it).
func (hk *hook) expire(c *hookCall, g *hookGen) {
	if !c.done && c.gen == g {
		c.done = true
		delete(g.pending, c)
	}
}

// fail refuses c for a handler's error, logged with its JS stack.
func (hk *hook) fail(c *hookCall, g *hookGen, err error) {
	hk.settle(c, g, hookAnswer{d: plugin.Decision{Verdict: plugin.Reject, Reason: "refused by hook " + hk.name}}, err)
}

// settle delivers c's answer once, unless a reload handed c to a newer generation; err, if set,
// is logged (the answer is then a refusal).
func (hk *hook) settle(c *hookCall, g *hookGen, a hookAnswer, err error) {
	if c.done || c.gen != g {
		return
	}
	c.done = true
	if c.expiry != nil {
		c.expiry.Stop()
	}
	if g != nil {
		delete(g.pending, c)
	}
	if err != nil {
		a = hookAnswer{d: plugin.Decision{Verdict: plugin.Reject, Reason: "refused by hook " + hk.name}}
		hk.log.Error().Str("action", c.req.Action.String()).Str("client", c.req.ClientID).Str("stream", c.req.Stream).
			Str("err", jsloop.FormatError(jsloop.WrapError(hk.jsName, err))).Msg("hook handler failed; request refused")
	}
	c.answer <- a
}

// event runs server.onEvent(ev) on the loop, without waiting; a full queue drops it (counted).
func (hk *hook) event(ev *plugin.Event) {
	job := func(*goja.Runtime) error { hk.onEvent(ev); return nil }
	if hk.loop.RunInline(job) {
		return
	}
	if err := hk.loop.Post(job); err != nil {
		hk.h.eventsDropped.Add(1)
	}
}

func (hk *hook) onEvent(ev *plugin.Event) {
	g := hk.gen
	if g == nil {
		return
	}
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
		if err != nil {
			hk.log.Error().Str("event", ev.Kind.String()).Str("client", ev.ClientID).
				Str("err", jsloop.FormatError(jsloop.WrapError(hk.jsName, err))).Msg("hook onEvent failed")
		}
	}()
	if fn, ok := goja.AssertFunction(g.server.Get("onEvent")); ok {
		_, err = fn(g.server, eventObject(g.rt, ev))
	}
}

// panicError turns a recovered panic (a throwing getter, an interrupt crossing Go code) into an
// error.
func panicError(r any) error {
	if err, ok := r.(error); ok {
		return err
	}
	return fmt.Errorf("panic: %v", r)
}
