package jsapi

import (
	"testing"

	"github.com/dop251/goja"
)

// dispatchApp is a script in the FMS idiom (checks on `this`) that counts every run of its
// own code, so that a test can tell that a refused name ran nothing.
const dispatchApp = `
var ran = 0;
Client.prototype.adminOnly = function (w) { ran++; if (!this.admin) return "denied"; return "ADMIN " + w; };
Client.prototype.m = function () { ran++; return "m"; };
Client.prototype.svc = { createStream: function () { ran++; return this === Client.prototype.svc; }, n: 1 };
Object.defineProperty(Client.prototype, "trap", { get: function () { ran++; return function () { ran++; }; } });
Client.prototype.ping = function () { ran++; return "app ping"; };
function Service() {}
Service.prototype.hidden = function () { ran++; };
(function (c) {
  c.own = function () { ran++; return "own"; };
  c.ns = { deep: { f: function () { ran++; return this.tag; }, tag: "deep" } };
  c.inst = new Service();
  c.fn = function () { ran++; };
  c.fn.sub = function () { ran++; };
  c.arr = [function () { ran++; }];
  c.objProto = Object.prototype;
  c.stolenHost = Client.prototype.getStats;
  c.stolenBuiltin = Object.prototype.valueOf;
  c.proxy = new Proxy({ f: function () { ran++; } }, { get: function (t, k) { ran++; return t[k]; } });
})`

// refusedNames are the names of issue 9's acceptance list and their relatives: each must be
// "method not found" with no app code run.
var refusedNames = []string{
	"m.call", "m.apply", "m.bind", "m.toString", "valueOf", "hasOwnProperty", "constructor.constructor",
	"__proto__.x", "toString", "propertyIsEnumerable", "isPrototypeOf", "toLocaleString", "__proto__",
	"constructor", "prototype", "__resolve", "__defineGetter__",
	"call", "getStats", "setBandwidthLimit", "getBandwidthLimit",
	"adminOnly.call", "adminOnly.apply", "adminOnly.bind", "adminOnly.toString", "adminOnly.constructor",
	"svc.createStream.call", "svc.constructor", "svc.__proto__", "svc.hasOwnProperty", "svc.valueOf",
	"ns.deep.f.call", "inst.hidden", "fn.sub", "fn.call", "arr.0", "objProto.valueOf", "stolenHost",
	"stolenBuiltin", "proxy.f", "trap", "edge.id", "id", "", ".", "own.", ".own", "a..b", "missing",
}

func newDispatchApp(t testing.TB) (*App, *Client) {
	t.Helper()
	a := newContainedApp(t)
	setup, err := a.RT.RunString(dispatchApp)
	if err != nil {
		t.Fatal(err)
	}
	c := a.NewClient(nil, ClientProps{ID: "1", HasEdge: true, EdgeID: "e"})
	fn, _ := goja.AssertFunction(setup)
	if _, err := fn(goja.Undefined(), c.Obj); err != nil {
		t.Fatal(err)
	}
	return a, c
}

func ranCount(t testing.TB, a *App) int64 {
	t.Helper()
	return a.RT.Get("ran").ToInteger()
}

// TestResolveMethodRefuses: no name in refusedNames reaches a function, and resolving them ran
// no app code (not even a getter).
func TestResolveMethodRefuses(t *testing.T) {
	t.Parallel()
	a, c := newDispatchApp(t)
	for _, name := range refusedNames {
		fn, _, err := a.ResolveMethod(c, name)
		if fn != nil || err != nil {
			t.Errorf("%q: resolved (err %v), want method not found", name, err)
		}
	}
	if n := ranCount(t, a); n != 0 {
		t.Errorf("app code ran %d times while resolving refused names", n)
	}
}

// TestResolveMethodFinds: what the app defined stays callable, with FMS's `this`: own
// properties first, Client.prototype (including a script function over a host method's name),
// and dotted names through plain objects with this = the object holding the method.
func TestResolveMethodFinds(t *testing.T) {
	t.Parallel()
	a, c := newDispatchApp(t)
	cases := []struct {
		name, want string
	}{
		{"adminOnly", "denied"}, {"own", "own"}, {"m", "m"}, {"ping", "app ping"}, {"svc.createStream", "true"},
		{"ns.deep.f", "deep"},
	}
	for _, tc := range cases {
		fn, this, err := a.ResolveMethod(c, tc.name)
		if fn == nil || err != nil {
			t.Errorf("%q: not found (%v)", tc.name, err)
			continue
		}
		v, err := fn(this, a.RT.ToValue("w"))
		if err != nil || v.String() != tc.want {
			t.Errorf("%q: %v %v, want %q", tc.name, v, err, tc.want)
		}
	}
}

// TestResolveFallback: __resolve (own or on Client.prototype) is asked for names with no
// refused segment; what it returns must be a function the client may call.
func TestResolveFallback(t *testing.T) {
	t.Parallel()
	a, c := newDispatchApp(t)
	if _, err := a.RT.RunString(`
var asked = [];
Client.prototype.__resolve = function (name) {
  asked.push(name);
  if (name === "dyn") return function () { return "dyn:" + (this instanceof Client); };
  if (name === "builtin") return Object.prototype.valueOf;
  if (name === "host") return Client.prototype.call;
  if (name === "notfn") return 42;
  return this[name];
};`); err != nil {
		t.Fatal(err)
	}
	fn, this, err := a.ResolveMethod(c, "dyn")
	if fn == nil || err != nil {
		t.Fatalf("dyn: %v", err)
	}
	if v, _ := fn(this); v.String() != "dyn:true" {
		t.Errorf("dyn: %v", v)
	}
	for _, name := range []string{"builtin", "host", "notfn", "valueOf", "hasOwnProperty", "m.call", "constructor.constructor", "__proto__.x", "__resolve"} {
		if fn, _, err := a.ResolveMethod(c, name); fn != nil || err != nil {
			t.Errorf("%q through __resolve: resolved (err %v)", name, err)
		}
	}
	asked, _ := a.RT.RunString(`asked.join(",")`)
	if got, want := asked.String(), "dyn,builtin,host,notfn,valueOf,hasOwnProperty,m.call"; got != want {
		t.Errorf("__resolve asked for %q, want %q (names with refused segments never reach it)", got, want)
	}
}
