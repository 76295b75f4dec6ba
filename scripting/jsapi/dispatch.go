package jsapi

import (
	"reflect"
	"strings"

	"github.com/dop251/goja"
)

// callGuard decides which functions a remote peer may reach by name: a client's
// NetConnection.call(name) and a client's SharedObject.send(name). A peer chooses the name, so
// the lookup must only ever find a function the app's script put there on purpose:
//
//   - a name's first segment is an own data property of the client object, else of
//     Client.prototype (for a shared object: the SharedObject, else SharedObject.prototype). The
//     prototype chain beyond that is never consulted, so Object.prototype's members (valueOf,
//     hasOwnProperty, toString, ...) are not reachable;
//   - a dotted name ("app.createStream") walks ordinary objects only: plain objects and
//     instances of the script's own constructors (client.svc = new Service(), with methods on
//     Service.prototype: FMS-era apps hang service objects on clients this way), looking at
//     each one's own data properties and those of its prototypes up to Object.prototype. Never
//     functions, Proxies, arrays, built-in objects, nor host objects (another Client, a Stream,
//     a SharedObject, application: DenyWalk). So "m.call", "m.apply", "m.bind", "m.toString"
//     (through a function) find nothing;
//   - the segments "constructor", "__proto__", "prototype", "__resolve" and "" are refused;
//   - accessor properties are not read (a getter is app code that a name must not run);
//   - the found function is refused when it is one of the denied functions: every built-in
//     member of Object.prototype and Function.prototype and the constructors Object and Function
//     (captured before the script runs), and the host methods the server installs
//     (Client.prototype's call, ping, getStats, setBandwidthLimit, getBandwidthLimit and the
//     SharedObject API). A script that assigns its own function over one of those names makes
//     that function callable; a script that stores a built-in under another name does not.
//
// The lookups use Object.getOwnPropertyDescriptor captured before the script runs, so that no
// script code runs during a lookup; the answers for clients, Client.prototype and walked
// objects are cached exactly (memberCache). It belongs to the App's runtime and loop.
type callGuard struct {
	ownDesc  goja.Callable
	hasOwn   goja.Callable
	objProto *goja.Object
	denied   map[*goja.Object]struct{}
	noWalk   map[*goja.Object]struct{} // host objects and prototypes a dotted name never enters

	defines    uint64 // calls of the defineProperty family (watchDefines) so far
	protoCache memberCache[string]
	walkCache  memberCache[memberKey]
}

// plainType is what ExportType reports for an ordinary object (and for a Go map).
var plainType = reflect.TypeOf(map[string]any(nil))

// newCallGuard captures the built-ins the guard relies on and denies every function member of
// Object.prototype and Function.prototype. Call it before the app's code runs.
func newCallGuard(rt *goja.Runtime) callGuard {
	objCtor := rt.GlobalObject().Get("Object").ToObject(rt)
	fnCtor := rt.GlobalObject().Get("Function").ToObject(rt)
	g := callGuard{denied: map[*goja.Object]struct{}{objCtor: {}, fnCtor: {}}, noWalk: map[*goja.Object]struct{}{}}
	g.objProto = objCtor.Get("prototype").ToObject(rt)
	g.ownDesc, _ = goja.AssertFunction(objCtor.Get("getOwnPropertyDescriptor"))
	for _, proto := range []*goja.Object{g.objProto, fnCtor.Get("prototype").ToObject(rt)} {
		for _, k := range proto.GetOwnPropertyNames() {
			if d, ok := g.ownData(proto, rt.ToValue(k)); ok {
				if f, isObj := d.(*goja.Object); isObj {
					g.denied[f] = struct{}{}
				}
			}
		}
	}
	return g
}

// DenyCalls makes v (a host function) unreachable by a remote peer's call name, wherever the
// script stores it.
func (a *App) DenyCalls(v goja.Value) {
	if o, ok := v.(*goja.Object); ok {
		a.calls.denied[o] = struct{}{}
	}
}

// DenyWalk keeps a dotted call name out of o (a host object, or the prototype of host objects)
// and out of anything that inherits from it.
func (a *App) DenyWalk(o *goja.Object) { a.calls.noWalk[o] = struct{}{} }

// ownData returns obj's own data property key, and whether obj has such an own property at
// all (an own accessor counts as present, with a nil value: it shadows the prototype's, and its
// getter is never run). getOwnPropertyDescriptor answers undefined, without allocating, for a
// key that is not own.
func (g *callGuard) ownData(obj *goja.Object, key goja.Value) (goja.Value, bool) {
	d, err := g.ownDesc(goja.Undefined(), obj, key)
	desc, ok := d.(*goja.Object)
	if err != nil || !ok {
		return nil, false
	}
	if desc.Get("get") != nil {
		return nil, true
	}
	return desc.Get("value"), true
}

// maxWalkDepth bounds the prototypes a dotted name's segment looks through (a script class
// hierarchy is a few levels deep).
const maxWalkDepth = 8

// walkable reports whether a dotted name may walk through o: o and each of its prototypes up to
// Object.prototype (or null) are ordinary script objects, none of them a host object.
func (g *callGuard) walkable(o *goja.Object) bool {
	for depth := 0; o != nil && o != g.objProto; depth++ {
		if depth >= maxWalkDepth || o.ExportType() != plainType || o.ClassName() != "Object" {
			return false
		}
		if _, host := g.noWalk[o]; host {
			return false
		}
		o = o.Prototype()
	}
	return true
}

// walkMember looks a dotted name's next segment up on a walkable obj: an own data property of
// obj, else of its prototypes before Object.prototype.
func (a *App) walkMember(obj *goja.Object, seg string) goja.Value {
	key := a.RT.ToValue(seg)
	for o := obj; o != nil && o != a.calls.objProto; o = o.Prototype() {
		if v, own := cachedOwnData(&a.calls, &a.calls.walkCache, memberKey{o, seg}, o, key, seg); own {
			return v
		}
	}
	return nil
}

// function returns v as a callable when it is a function a peer may call.
func (g *callGuard) function(v goja.Value) goja.Callable {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	if _, no := g.denied[o]; no {
		return nil
	}
	f, _ := goja.AssertFunction(o)
	return f
}

// callableSegment reports whether one segment of a peer's call name may be looked up.
func callableSegment(s string) bool {
	switch s {
	case "", "constructor", "__proto__", "prototype", "__resolve":
		return false
	}
	return true
}

// callableName reports whether every segment of a dotted call name may be looked up; a name
// that fails is refused before any app code (such as __resolve) sees it.
func callableName(name string) bool {
	for {
		seg, rest, more := strings.Cut(name, ".")
		if !callableSegment(seg) {
			return false
		}
		if !more {
			return true
		}
		name = rest
	}
}

// member looks name up as an own data property of obj, else of proto (see callGuard).
func (g *callGuard) member(rt *goja.Runtime, obj, proto *goja.Object, name string) goja.Value {
	key := rt.ToValue(name)
	if v, own := g.ownData(obj, key); own {
		return v
	}
	v, _ := g.ownData(proto, key)
	return v
}

// clientMember is member(c.Obj, Client.prototype, name) through the caches.
func (a *App) clientMember(c *Client, name string) goja.Value {
	g := &a.calls
	key := a.RT.ToValue(name)
	if v, own := cachedOwnData(g, &c.members, name, c.Obj, key, name); own {
		return v
	}
	v, _ := cachedOwnData(g, &g.protoCache, name, a.ClientProto, key, name)
	return v
}

// ScriptMethod returns the function a peer's undotted name reaches on obj (an own data property
// of obj, else of proto), or nil: the shared-object send rule of callGuard.
func (a *App) ScriptMethod(obj, proto *goja.Object, name string) goja.Callable {
	if !callableSegment(name) {
		return nil
	}
	return a.calls.function(a.calls.member(a.RT, obj, proto, name))
}

// ResolveMethod finds what a client's NetConnection.call(name) runs, by the rule of callGuard:
// the client's own properties first, then Client.prototype; a dotted name walks plain objects
// and instances of script constructors (this is the object the segment was looked up on); finally the script's __resolve(name), whose
// result must itself be a callable function. A nil fn with a nil err means "method not found",
// and then no app code has run (except a __resolve the script defined, for a name without
// refused segments).
func (a *App) ResolveMethod(c *Client, name string) (fn goja.Callable, this goja.Value, err error) {
	if !callableName(name) {
		return nil, nil, nil
	}
	first, rest, dotted := strings.Cut(name, ".")
	v := a.clientMember(c, first)
	this = c.Obj
	for dotted {
		obj, ok := v.(*goja.Object)
		if !ok || !a.calls.walkable(obj) {
			v = nil
			break
		}
		var seg string
		seg, rest, dotted = strings.Cut(rest, ".")
		v = a.walkMember(obj, seg)
		this = obj
	}
	if f := a.calls.function(v); f != nil {
		return f, this, nil
	}
	return a.resolveFallback(c, name)
}

// resolveFallback asks the script's __resolve(name) (an own data property of the client or
// of Client.prototype) for a function.
func (a *App) resolveFallback(c *Client, name string) (goja.Callable, goja.Value, error) {
	res := a.calls.function(a.clientMember(c, "__resolve"))
	if res == nil {
		return nil, nil, nil
	}
	v, err := res(c.Obj, a.RT.ToValue(name))
	if err != nil {
		return nil, nil, err
	}
	return a.calls.function(v), c.Obj, nil
}
