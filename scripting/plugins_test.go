package scripting

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/plugin"
)

// testRPC is an rpc module for the tests: each method is one behaviour a module can have.
type testRPC struct {
	name    string
	budget  time.Duration
	release chan struct{}        // closes to let "hold" calls return
	seen    chan *plugin.RPCCall // every call, as it starts
	ctxErr  chan error           // what "waitctx" saw when its context ended
	mu      sync.Mutex
	notes   []string
}

func newTestRPC(name string, budget time.Duration) *testRPC {
	return &testRPC{name: name, budget: budget, release: make(chan struct{}), seen: make(chan *plugin.RPCCall, 256),
		ctxErr: make(chan error, 4)}
}

type opaque struct{ X int }

func (m *testRPC) RPCName() string { return m.name }
func (m *testRPC) RPCMethods() []string {
	return []string{"echo", "fail", "panic", "slow", "info", "bad", "hold", "waitctx", "note", "big"}
}
func (m *testRPC) Budget() time.Duration { return m.budget }

func (m *testRPC) Call(ctx context.Context, call *plugin.RPCCall) (any, error) {
	m.seen <- call
	switch call.Method {
	case "echo":
		return call.Args, nil
	case "fail":
		return nil, errors.New("db unreachable")
	case "panic":
		panic("boom")
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "info":
		return map[string]any{"app": call.App, "instance": call.Instance, "method": call.Method, "n": 7, "tags": []string{"a", "b"}}, nil
	case "bad":
		return opaque{1}, nil
	case "hold":
		<-m.release // ignores ctx: keeps its slot until released
		return "released", nil
	case "waitctx":
		<-ctx.Done()
		m.ctxErr <- ctx.Err()
		return nil, ctx.Err()
	case "note":
		m.mu.Lock()
		m.notes = append(m.notes, call.Args[0].(string))
		m.mu.Unlock()
		return nil, nil
	case "big":
		var shared []any // 2^30 nodes if expanded: refused
		shared = []any{1.0, 2.0}
		for range 30 {
			shared = []any{shared, shared}
		}
		return shared, nil
	}
	return nil, errors.New("no such method")
}

func (m *testRPC) noted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.notes...)
}

func withRPC(mods ...*testRPC) func(*EngineConfig) {
	return func(cfg *EngineConfig) {
		cfg.RPC = map[string]plugin.RPCService{}
		for _, m := range mods {
			cfg.RPC[m.name] = m
		}
	}
}

const pluginsApp = `
Client.prototype.types = function () {
  return [typeof application.plugins, typeof application.plugins.kv, typeof application.plugins.kv.echo,
    typeof application.plugins.nope, typeof application.plugins.kv.nope, Object.keys(application.plugins).join(","),
    Object.keys(application).indexOf("plugins")];
};
Client.prototype.echo = function () {
  return application.plugins.kv.echo(1.5, "s", {x: [1, "t"], f: function () {}}, new Date(1000), null, undefined, true)
    .then(function (v) { return JSON.stringify(v); });
};
Client.prototype.info = function () {
  return application.plugins.kv.info().then(function (v) { return JSON.stringify(v); });
};
Client.prototype.tryIt = async function (svc, m, arg) {
  try {
    var v = await application.plugins[svc][m](arg);
    return "resolved:" + v;
  } catch (e) {
    return (e instanceof Error) + ":" + e.message;
  }
};
Client.prototype.cyclic = function () {
  var o = {}; o.o = o;
  return application.plugins.kv.echo(o).then(function () { return "resolved"; }, function (e) { return e.message; });
};
var held = [];
Client.prototype.flood = function (n) {
  for (var i = 0; i < n; i++) held.push(application.plugins.long.hold());
  return application.plugins.long.hold().then(function () { return "resolved"; }, function (e) { return e.message; });
};
Client.prototype.heldDone = function () {
  return Promise.all(held).then(function (v) { held = []; return v.length + ":" + v[0]; });
};
Client.prototype.startWait = function () { application.plugins.long.waitctx(); return true; };
Client.prototype.stop = function () { application.shutdown(); return true; };
Client.prototype.direct = application.plugins.kv.echo;
`

// TestPluginsObject: application.plugins has the services and their methods only, not
// enumerable on application; a client cannot call a plug-in function even where the script
// stored one.
func TestPluginsObject(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"p/main.js": pluginsApp}, withRPC(newTestRPC("kv", 0), newTestRPC("long", 0)))
	f, c := h.accepted("p")
	got := h.result(f, c, "types").(*amf.Array).Dense
	want := []any{"object", "object", "function", "undefined", "undefined", "kv,long", -1.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if ev := h.call(f, c, "direct", 1.0); ev.kind != "error" {
		t.Fatalf("a client called a plug-in function: %+v", ev)
	}
}

// TestPluginCallValues: arguments reach the module as plain Go values, the result comes back to
// JS as a Promise's value, and the module learns the calling app and instance.
func TestPluginCallValues(t *testing.T) {
	t.Parallel()
	kv := newTestRPC("kv", 0)
	h := newHarness(t, map[string]string{"p/main.js": pluginsApp}, withRPC(kv, newTestRPC("long", 0)))
	f, c := h.connect("p", "room1")
	f.expect(t, "accept")
	if got := h.result(f, c, "echo"); got != `[1.5,"s",{"x":[1,"t"]},"1970-01-01T00:00:01.000Z",null,null,true]` {
		t.Fatalf("echo: %v", got)
	}
	call := <-kv.seen
	want := []any{1.5, "s", map[string]any{"x": []any{1.0, "t"}}, time.UnixMilli(1000), nil, nil, true}
	if !reflect.DeepEqual(call.Args, want) || call.App != "p" || call.Instance != "room1" || call.Method != "echo" {
		t.Fatalf("module got %#v", call)
	}
	if got := h.result(f, c, "info"); got != `{"app":"p","instance":"room1","method":"info","n":7,"tags":["a","b"]}` {
		t.Fatalf("info: %v", got)
	}
}

// TestPluginCallFailures: a module's error rejects with an Error carrying its message; a panic,
// a call past its budget, a result that is not a plain value, a huge result and a cyclic
// argument reject with an Error saying so; the instance goes on serving.
func TestPluginCallFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"p/main.js": pluginsApp},
		withRPC(newTestRPC("kv", 100*time.Millisecond), newTestRPC("long", 0)))
	f, c := h.accepted("p")
	cases := []struct{ method, want string }{
		{"fail", "true:db unreachable"},
		{"panic", "true:application.plugins.kv.panic: the module failed (panic: boom)"},
		{"slow", "true:application.plugins.kv.slow: no answer within 100ms"},
		{"bad", "true:application.plugins.kv.bad: a result of type scripting.opaque is not a plain value"},
		{"big", "true:application.plugins.kv.big: value of more than 1048576 elements"},
		{"note", "resolved:null"},
	}
	for _, tc := range cases {
		if got := h.result(f, c, "tryIt", "kv", tc.method, "x"); got != tc.want {
			t.Errorf("%s: %v, want %q", tc.method, got, tc.want)
		}
	}
	if got := h.result(f, c, "cyclic"); got != "application.plugins.kv.echo: argument 1: value refers to itself" {
		t.Errorf("cyclic argument: %v", got)
	}
	if !strings.Contains(h.log.String(), "rpc module panicked") {
		t.Errorf("panic not logged:\n%s", h.log.String())
	}
}

// TestPluginCallsBounded: an instance has at most MaxPluginCalls calls in flight; one more
// rejects at once, and the slots are free again once the calls have returned.
func TestPluginCallsBounded(t *testing.T) {
	t.Parallel()
	long := newTestRPC("long", 0)
	h := newHarness(t, map[string]string{"p/main.js": pluginsApp}, withRPC(newTestRPC("kv", 0), long))
	f, c := h.accepted("p")
	want := "application.plugins.long.hold: 64 calls already in flight in this instance"
	if got := h.result(f, c, "flood", float64(MaxPluginCalls)); got != want {
		t.Fatalf("call beyond the bound: %v", got)
	}
	for range MaxPluginCalls {
		<-long.seen // every held call started
	}
	close(long.release)
	if got := h.result(f, c, "heldDone"); got != "64:released" {
		t.Fatalf("held calls: %v", got)
	}
	if got := h.result(f, c, "flood", 0.0); got != "resolved" {
		t.Fatalf("after release: %v", got)
	}
}

// TestPluginCallCancelledOnStop: a call still running when its instance stops sees its context
// cancelled.
func TestPluginCallCancelledOnStop(t *testing.T) {
	t.Parallel()
	long := newTestRPC("long", 0)
	h := newHarness(t, map[string]string{"p/main.js": pluginsApp}, withRPC(newTestRPC("kv", 0), long))
	f, c := h.accepted("p")
	h.result(f, c, "startWait")
	<-long.seen
	h.result(f, c, "stop")
	select {
	case err := <-long.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("context ended with %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the call's context was not cancelled when the instance stopped")
	}
}

// TestPluginCallsHeldDuringReload: a reload's new code calls a module from onAppStart only once
// it has taken over; a reload that fails never makes its calls.
func TestPluginCallsHeldDuringReload(t *testing.T) {
	t.Parallel()
	long := newTestRPC("long", 0)
	app := func(start string) string {
		return pluginsApp + "application.onAppStart = function () { " + start + " };\n" +
			`Client.prototype.note = function (s) { return application.plugins.long.note(s).then(function () { return "noted"; }); };`
	}
	h := newHarness(t, map[string]string{"p/main.js": app(`application.plugins.long.note("v1");`)},
		withRPC(newTestRPC("kv", 0), long))
	f, c := h.accepted("p")
	h.write("p/main.js", app(`application.plugins.long.note("v2");`))
	if err := h.awaitReload(); err != nil {
		t.Fatal(err)
	}
	// The failing code's call would hold its slot: it was never made if none is taken once the
	// reload job is over (the count goes up on the loop, as a call starts).
	h.write("p/main.js", app(`application.plugins.long.hold(); throw new Error("no");`))
	if err := h.awaitReload(); err == nil {
		t.Fatal("the failing reload succeeded")
	}
	if n := h.instance("p/_definst_").plugins.busy.Load(); n != 0 {
		t.Fatalf("%d calls in flight after a failed reload", n)
	}
	if got := h.result(f, c, "note", "after"); got != "noted" {
		t.Fatalf("note: %v", got)
	}
	if n := h.instance("p/_definst_").plugins.busy.Load(); n != 0 {
		t.Fatalf("%d calls in flight: the failed reload's call was made", n)
	}
	if got := long.noted(); !reflect.DeepEqual(got, []string{"v1", "v2", "after"}) {
		t.Fatalf("calls made: %v", got)
	}
}

// instance returns a running instance by "app/instance".
func (h *harness) instance(name string) *instance {
	h.t.Helper()
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	inst := h.e.instances[name]
	if inst == nil {
		h.t.Fatalf("no instance %s", name)
	}
	return inst
}
