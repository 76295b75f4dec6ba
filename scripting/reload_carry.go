package scripting

import (
	"crypto/sha256"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/jsapi"
)

// This file is step 2c of a hot reload (APP-API.md "Hot reload"): the old runtime's state is
// copied into the new one as one graph (jsapi.Carrier), with Client, Stream and SharedObject
// references re-pointed to the new runtime's objects.

// unsharedKeys are properties of application that belong to each generation.
var unsharedKeys = map[string]bool{"clients": true, "name": true, "server": true, "hostname": true, "config": true}

// topLevels remembers the top-level lexical names of entry files by content, so that the
// instances of an app parse each version once. One per engine (Engine.tops); it is cleared when
// it grows past topLevelCacheMax.
type topLevels struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]jsapi.TopLevel
}

const topLevelCacheMax = 256

// entry lists the top-level let, const and class names of the app's entry file. The file is
// read again (the compiled program does not keep its syntax tree); an edit in between only
// means a reload follows.
func (c *topLevels) entry(app *App) jsapi.TopLevel {
	if app.Entry == "" {
		return jsapi.TopLevel{}
	}
	src, err := readSource(app.Entry)
	if err != nil {
		return jsapi.TopLevel{}
	}
	sum := sha256.Sum256([]byte(src))
	c.mu.Lock()
	tl, ok := c.m[sum]
	c.mu.Unlock()
	if ok {
		return tl
	}
	tree, err := goja.Parse(app.Entry, src)
	if err != nil {
		return jsapi.TopLevel{}
	}
	tl = jsapi.TopLevelNames(tree)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= topLevelCacheMax {
		c.m = map[[sha256.Size]byte]jsapi.TopLevel{}
	}
	c.m[sum] = tl
	c.mu.Unlock()
	return tl
}

// lexical is the accessor of g's top-level lexical bindings: the entry file's and those of every
// file load() ran so far. Nil when it cannot be built (then no let is carried).
func (g *generation) lexical() *jsapi.Lexical {
	tl := g.top
	tl.Add(g.app.LoadedTopLevel())
	l, err := jsapi.NewLexical(g.rt, tl)
	if err != nil {
		g.app.Log().Warn().Err(err).Msg("top-level let bindings cannot be read")
		return nil
	}
	return l
}

// lexValues reads l's bindings (none for a nil l).
func lexValues(l *jsapi.Lexical) map[string]goja.Value {
	if l == nil {
		return nil
	}
	return l.Values()
}

// snapshotBase records, once the start-up (top level and onAppStart) is done, what the changed-
// since-start rule compares with: the globals the code added, its let bindings and application's
// properties, as AMF model values.
func (g *generation) snapshotBase() {
	g.baseGlob = g.snapshot(g.rt.GlobalObject(), g.builtins)
	g.baseApp = g.snapshot(g.app.Application, nil)
	g.baseLets = map[string]any{}
	if l := g.lexical(); l != nil {
		for _, n := range l.Names().Lets {
			if v, ok := l.Get(n); ok {
				g.remember(g.baseLets, n, v)
			}
		}
	}
}

// snapshot records obj's own non-function values (skipping skip's keys) in the AMF model.
func (g *generation) snapshot(obj *goja.Object, skip map[string]bool) map[string]any {
	out := map[string]any{}
	for _, k := range obj.Keys() {
		if skip[k] {
			continue
		}
		if v, ok := get(g.rt, obj, k); ok {
			g.remember(out, k, v)
		}
	}
	return out
}

func (g *generation) remember(out map[string]any, k string, v goja.Value) {
	if _, fn := goja.AssertFunction(v); fn || v == nil {
		return
	}
	if val, err := g.app.Conv.FromJS(v); err == nil {
		out[k] = val
	}
}

// unchanged reports whether v still equals what the start-up left under k in base.
func (g *generation) unchanged(base map[string]any, k string, v goja.Value) bool {
	b, ok := base[k]
	if !ok {
		return false
	}
	val, err := g.app.Conv.FromJS(v)
	return err == nil && reflect.DeepEqual(b, val)
}

// carryState copies the old generation's state into g: the moved clients' and their streams'
// own properties, then the globals, let bindings and application properties the running app
// changed since it started.
func (inst *instance) carryState(old, g *generation, moved []*Client, deadline time.Time) error {
	oldLex, newLex := old.lexical(), g.lexical()
	cr := jsapi.NewCarrier(old.app.Conv, g.app.Conv, jsapi.CarryOptions{
		Host: g.hostRefs(old), SkipValue: isTimerID,
		SrcLexical: lexValues(oldLex), DstLexical: lexValues(newLex), Deadline: deadline,
	})
	for _, c := range moved {
		if oj := old.objs[c]; oj != nil {
			copyOwn(old.rt, cr, oj.Obj, g.objs[c].Obj)
		}
	}
	old.app.EachStream(func(_ *jsapi.Client, _ string, o *goja.Object) {
		if no, ok := cr.Value(o); ok {
			copyOwn(old.rt, cr, o, no.(*goja.Object))
		}
	})
	gl := old.rt.GlobalObject()
	for _, k := range gl.Keys() {
		if v, ok := get(old.rt, gl, k); ok && !old.builtins[k] && !old.unchanged(old.baseGlob, k, v) {
			g.setGlobal(newLex, k, cr, v)
		}
	}
	if oldLex != nil {
		for _, k := range oldLex.Names().Lets {
			if v, ok := oldLex.Get(k); ok && !old.unchanged(old.baseLets, k, v) {
				g.setGlobal(newLex, k, cr, v)
			}
		}
	}
	for _, k := range old.app.Application.Keys() {
		if v, ok := get(old.rt, old.app.Application, k); ok && !unsharedKeys[k] && !old.unchanged(old.baseApp, k, v) {
			if cv, ok := cr.Value(v); ok {
				_ = g.app.Application.Set(k, cv)
			}
		}
	}
	return cr.Err()
}

// setGlobal gives a carried global its value in g: a let binding when the new code declares
// one of that name, nothing when it declares a const or class, else a global object property.
func (g *generation) setGlobal(lex *jsapi.Lexical, k string, cr *jsapi.Carrier, v goja.Value) {
	cv, ok := cr.Value(v)
	if !ok {
		return
	}
	if lex != nil {
		names := lex.Names()
		if slices.Contains(names.Lets, k) {
			lex.Set(k, cv)
			return
		}
		if slices.Contains(names.Fixed, k) {
			return
		}
	}
	_ = g.rt.GlobalObject().Set(k, cv)
}

// copyOwn copies from's own enumerable properties onto to through setters (a client's
// readAccess is an accessor), leaving out what cannot be carried.
func copyOwn(rt *goja.Runtime, cr *jsapi.Carrier, from, to *goja.Object) {
	for _, k := range from.Keys() {
		v, ok := get(rt, from, k)
		if !ok {
			continue
		}
		if cv, ok := cr.Value(v); ok {
			_ = to.Set(k, cv)
		}
	}
}

// get reads a property of rt's object; a throwing getter reports false.
func get(rt *goja.Runtime, obj *goja.Object, k string) (v goja.Value, ok bool) {
	if ex := rt.Try(func() { v = obj.Get(k) }); ex != nil {
		return nil, false
	}
	return v, true
}

// hostRefs re-points the old runtime's host objects: application, application.clients and the
// global object to the new ones, a Client to the new object of the same connection, a Stream to the new object of the same client and name, a SharedObject to the new
// runtime's object of the same shared object. One whose connection is gone, a forgotten stream
// and a closed SharedObject are left out.
func (g *generation) hostRefs(old *generation) func(*goja.Object) (goja.Value, bool) {
	type streamKey struct {
		c    *Client
		name string
	}
	streams := map[*goja.Object]streamKey{}
	old.app.EachStream(func(jc *jsapi.Client, name string, o *goja.Object) {
		streams[o] = streamKey{jc.Peer.(*Client), name}
	})
	singles := map[*goja.Object]*goja.Object{
		old.app.Application: g.app.Application, old.app.ClientList(): g.app.ClientList(),
		old.rt.GlobalObject(): g.rt.GlobalObject(),
	}
	return func(o *goja.Object) (goja.Value, bool) {
		if n := singles[o]; n != nil {
			return n, true
		}
		if jc := old.app.ClientOf(o); jc != nil {
			if c := jc.Peer.(*Client); c.state != stateClosed {
				return g.objIn(c).Obj, true
			}
			return nil, true
		}
		if sk, ok := streams[o]; ok && sk.c.state == stateAccepted {
			return g.app.Stream(g.objIn(sk.c), sk.name, ""), true
		}
		if h := old.sos.byObj[o]; h != nil && !h.closed {
			return g.soObject(h), true
		}
		if v, ok := g.app.CarryHostObject(old.app, o); ok {
			return v, true
		}
		if old.app.IsClientObject(o) || old.app.IsStream(o) || old.sos.byObj[o] != nil || o.Prototype() == old.sos.proto {
			return nil, true
		}
		return nil, false
	}
}

// soObject returns g's script object of the shared object behind an old handle.
func (g *generation) soObject(h *soHandle) goja.Value {
	if nh := g.sos.handles[h.key]; nh != nil {
		return nh.obj
	}
	rt := g.rt
	v := g.sos.jsGet(goja.FunctionCall{Arguments: []goja.Value{rt.ToValue(h.so.Name()), rt.ToValue(h.so.Persistent())}})
	if o, ok := v.(*goja.Object); ok {
		if nh := g.sos.byObj[o]; nh != nil {
			if _, isObj := h.resyncDepth.(*goja.Object); !isObj {
				nh.resyncDepth = h.resyncDepth
			}
		}
	}
	return v
}
