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
function Service() { this.tag = "svc"; }
Service.prototype.greet = function () { ran++; return this.tag + ":" + (this instanceof Service); };
function Sub() { this.tag = "sub"; }
Sub.prototype = new Service();
(function (c) {
  c.own = function () { ran++; return "own"; };
  c.ns = { deep: { f: function () { ran++; return this.tag; }, tag: "deep" } };
  c.inst = new Service();
  c.sub = new Sub();
  c.self = c;
  c.app = application;
  c.date = new Date();
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
	"ns.deep.f.call", "inst.greet.call", "inst.constructor", "sub.greet.apply", "self.adminOnly", "self.m",
	"app.shutdown", "app.disconnect", "app.acceptConnection", "app.broadcastMsg", "date.getTime", "fn.sub", "fn.call", "arr.0", "objProto.valueOf", "stolenHost",
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
// and dotted names through plain objects and script class instances (a prototype's method, two
// levels up too) with this = the object the name walked to.
func TestResolveMethodFinds(t *testing.T) {
	t.Parallel()
	a, c := newDispatchApp(t)
	cases := []struct {
		name, want string
	}{
		{"adminOnly", "denied"}, {"own", "own"}, {"m", "m"}, {"ping", "app ping"}, {"svc.createStream", "true"},
		{"ns.deep.f", "deep"}, {"inst.greet", "svc:true"}, {"sub.greet", "sub:true"},
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

// TestResolveCacheStaysExact: names found once (and so cached) are looked at again after the
// script changes them: a method turned into an accessor (on the client, Client.prototype or a
// walked object) is refused without running its getter; a deleted one is gone, also when
// Object.prototype has a function of that name; a reassigned one is the new function.
func TestResolveCacheStaysExact(t *testing.T) {
	t.Parallel()
	a, c := newDispatchApp(t)
	for _, name := range []string{"m", "own", "svc.createStream", "adminOnly"} {
		if fn, _, _ := a.ResolveMethod(c, name); fn == nil {
			t.Fatalf("%s not found before the change", name)
		}
	}
	setup, err := a.RT.RunString(`(function (c) {
  var getter = { get: function () { ran++; return function () { ran++; }; }, configurable: true };
  Object.defineProperty(Client.prototype, "m", getter);
  Reflect.defineProperty(c, "own", getter);
  Object.defineProperties(Client.prototype.svc, { createStream: getter });
  delete Client.prototype.adminOnly;
  Object.prototype.adminOnly = function () { ran++; };
})`)
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := goja.AssertFunction(setup)
	if _, err := fn(goja.Undefined(), c.Obj); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"m", "own", "svc.createStream", "adminOnly"} {
		if fn, _, _ := a.ResolveMethod(c, name); fn != nil {
			t.Errorf("%s resolved after it became an accessor or was deleted", name)
		}
	}
	if n := ranCount(t, a); n != 0 {
		t.Errorf("app code ran %d times", n)
	}
	if _, err := a.RT.RunString(`Client.prototype.ping = function () { return "second"; };`); err != nil {
		t.Fatal(err)
	}
	fnv, this, _ := a.ResolveMethod(c, "ping")
	if fnv == nil {
		t.Fatal("reassigned ping not found")
	}
	if v, _ := fnv(this); v.String() != "second" {
		t.Errorf("reassigned ping answered %v", v)
	}
	// A cached name deleted defines nothing, so the cache itself must notice.
	if _, err := a.RT.RunString(`Client.prototype.m2 = function () { ran++; };`); err != nil {
		t.Fatal(err)
	}
	if fn, _, _ := a.ResolveMethod(c, "m2"); fn == nil {
		t.Fatal("m2 not found")
	}
	if _, err := a.RT.RunString(`delete Client.prototype.m2; Object.prototype.m2 = function () { ran++; };`); err != nil {
		t.Fatal(err)
	}
	if fn, _, _ := a.ResolveMethod(c, "m2"); fn != nil {
		t.Error("a deleted (cached) method resolved to Object.prototype's")
	}
}

// TestDefinePropertyWrappersBehave: the counting wrappers of the defineProperty family keep
// the originals' behaviour, names and lengths; goja has no __defineGetter__ (the other way to
// make an accessor of an existing property, which the member caches would have to watch).
func TestDefinePropertyWrappersBehave(t *testing.T) {
	t.Parallel()
	a := newContainedApp(t)
	v, err := a.RT.RunString(`
var o = {}, r = [];
r.push(Object.defineProperty(o, "a", {value: 1}) === o, o.a === 1);
try { Object.defineProperty(1, "x", {}); r.push(false); } catch (e) { r.push(e instanceof TypeError); }
r.push(Reflect.defineProperty(Object.freeze({}), "y", {value: 1}) === false);
Object.defineProperties(o, {b: {value: 2}}); r.push(o.b === 2);
r.push(Object.defineProperty.name === "defineProperty", Object.defineProperty.length === 3,
  Object.defineProperties.length === 2, Reflect.defineProperty.length === 3);
r.push(typeof Object.prototype.__defineGetter__ === "undefined", typeof Object.prototype.__lookupGetter__ === "undefined");
r.join()`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), "true,true,true,true,true,true,true,true,true,true,true"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
