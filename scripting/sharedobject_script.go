package scripting

import (
	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
)

// soScript is the server-side SharedObject class of one generation (APP-API.md "SharedObject"):
// script objects over the instance's registry, one per name and persistence, so that handlers the
// script assigns (so.NAME = function, so.onSync) are found again when clients reach them. Like
// its runtime it belongs to the instance loop.
type soScript struct {
	app     *jsapi.App
	reg     *sharedobject.Registry
	proto   *goja.Object
	handles map[string]*soHandle
	byObj   map[*goja.Object]*soHandle
}

// soHandle is one script SharedObject.
type soHandle struct {
	key         string
	obj         *goja.Object
	so          *sharedobject.Object
	resyncDepth goja.Value // as the script wrote it (reload carries it over); the object holds the depth
	closed      bool
}

func soKey(name string, persistent bool) string {
	if persistent {
		return "p\x00" + name
	}
	return "t\x00" + name
}

// installSharedObjects defines the global SharedObject in g's runtime, replacing jsapi's
// "not supported yet" placeholder.
func (g *generation) installSharedObjects(reg *sharedobject.Registry) error {
	rt := g.rt
	s := &soScript{app: g.app, reg: reg, proto: rt.NewObject(), handles: map[string]*soHandle{}, byObj: map[*goja.Object]*soHandle{}}
	g.sos = s
	ctor := rt.ToValue(func(goja.ConstructorCall) *goja.Object {
		panic(rt.NewTypeError("use SharedObject.get(name, persistent)"))
	}).(*goja.Object)
	_ = ctor.Set("prototype", s.proto)
	_ = ctor.Set("get", s.jsGet)
	_ = s.proto.DefineDataProperty("constructor", ctor, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	s.installMethods()
	s.installAccessors()
	return rt.Set("SharedObject", ctor)
}

// jsGet is SharedObject.get(name, persistent): one argument means non-persistent. A refusal
// (persistence differs from the existing object's, too many objects, a name unusable as a path)
// returns null as FMS does, with a log line saying why.
func (s *soScript) jsGet(call goja.FunctionCall) goja.Value {
	name := call.Argument(0).String()
	persistent := call.Argument(1).ToBoolean()
	key := soKey(name, persistent)
	if h := s.handles[key]; h != nil {
		return h.obj
	}
	so, err := s.reg.Get(name, persistent)
	if err != nil {
		s.app.Log().Warn().Err(err).Str("so", name).Msg("SharedObject.get refused")
		return goja.Null()
	}
	h := &soHandle{key: key, obj: s.app.RT.NewObject(), so: so, resyncDepth: s.app.RT.ToValue(so.ResyncDepth())}
	_ = h.obj.SetPrototype(s.proto)
	s.handles[key], s.byObj[h.obj] = h, h
	return h.obj
}

// handle returns the open SharedObject that `this` is, or throws.
func (s *soScript) handle(this goja.Value, method string) *soHandle {
	o, _ := this.(*goja.Object)
	h := s.byObj[o]
	if h == nil {
		panic(s.app.RT.NewTypeError("SharedObject.prototype.%s called on a non-SharedObject", method))
	}
	if h.closed {
		panic(s.app.RT.NewTypeError("SharedObject %q is closed (get it again)", h.so.Name()))
	}
	return h
}

// check turns a registry error into a JS exception.
func (s *soScript) check(err error) {
	if err != nil {
		panic(s.app.RT.NewGoError(err))
	}
}

func (s *soScript) installMethods() {
	rt := s.app.RT
	methods := map[string]func(*soHandle, goja.FunctionCall) goja.Value{
		"getProperty":      s.jsGetProperty,
		"setProperty":      s.jsSetProperty,
		"getPropertyNames": s.jsPropertyNames,
		"size":             func(h *soHandle, _ goja.FunctionCall) goja.Value { return rt.ToValue(h.so.Size()) },
		"lock":             s.count(func(h *soHandle) int { return h.so.Lock() }),
		"unlock":           s.count(func(h *soHandle) int { return h.so.Unlock() }),
		"clear":            s.effect(func(h *soHandle, _ goja.FunctionCall) { s.check(h.so.Clear()) }),
		"send":             s.effect(s.send),
		"flush":            s.jsFlush,
		"purge":            s.effect(s.purge),
		"close":            s.jsClose,
	}
	for name, m := range methods {
		fn := rt.ToValue(func(call goja.FunctionCall) goja.Value { return m(s.handle(call.This, name), call) })
		s.app.DenyCalls(fn) // the SharedObject API is the script's, never a client's send target
		_ = s.proto.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
}

// effect wraps a method whose effect leaves the runtime: a no-op returning true while the app
// is sandboxed (a reload building its new generation).
func (s *soScript) effect(f func(*soHandle, goja.FunctionCall)) func(*soHandle, goja.FunctionCall) goja.Value {
	return func(h *soHandle, call goja.FunctionCall) goja.Value {
		if !s.app.Sandboxed {
			f(h, call)
		}
		return s.app.RT.ToValue(true)
	}
}

// count wraps lock/unlock, which return the lock count as in FMS (0 while sandboxed).
func (s *soScript) count(f func(*soHandle) int) func(*soHandle, goja.FunctionCall) goja.Value {
	return func(h *soHandle, _ goja.FunctionCall) goja.Value {
		if s.app.Sandboxed {
			return s.app.RT.ToValue(0)
		}
		return s.app.RT.ToValue(f(h))
	}
}

// purge(version) drops the deleted-slot history older than version; a version below 1 (or not
// a number) drops nothing.
func (s *soScript) purge(h *soHandle, call goja.FunctionCall) {
	v := call.Argument(0).ToFloat()
	if v >= 1 {
		h.so.Purge(uint32(min(v, float64(^uint32(0)))))
	}
}

// setResyncDepth keeps what the script wrote for reading back and gives the object a depth:
// a negative number, Infinity or a non-number mean unlimited, FMS's default.
func (s *soScript) setResyncDepth(h *soHandle, v goja.Value) {
	h.resyncDepth = v
	d := int64(-1)
	if f := v.ToFloat(); goja.IsNumber(v) && f >= 0 && f < 1<<53 {
		d = int64(f)
	}
	if !s.app.Sandboxed {
		h.so.SetResyncDepth(d)
	}
}

// installAccessors defines name, version, isDirty and resyncDepth on the prototype, so that a
// SharedObject has no own data properties (reload carry-over leaves it alone).
func (s *soScript) installAccessors() {
	rt := s.app.RT
	getters := map[string]func(*soHandle) goja.Value{
		"name":        func(h *soHandle) goja.Value { return rt.ToValue(h.so.Name()) },
		"version":     func(h *soHandle) goja.Value { return rt.ToValue(h.so.Version()) },
		"isDirty":     func(h *soHandle) goja.Value { return rt.ToValue(h.so.Dirty()) },
		"resyncDepth": func(h *soHandle) goja.Value { return h.resyncDepth },
	}
	for name, get := range getters {
		getter := rt.ToValue(func(call goja.FunctionCall) goja.Value { return get(s.handle(call.This, name)) })
		setter := rt.ToValue(func(call goja.FunctionCall) goja.Value {
			if name == "resyncDepth" {
				s.setResyncDepth(s.handle(call.This, name), call.Argument(0))
			}
			return goja.Undefined()
		})
		_ = s.proto.DefineAccessorProperty(name, getter, setter, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}

// jsGetProperty: a missing slot is undefined. Slot names cross into JS renamed as AMF keys do
// (jsapi.KeyToJS: the slot "__proto__" is "__proto__$" in getPropertyNames and onSync), so a
// script using them as keys of its own objects cannot reach a prototype.
func (s *soScript) jsGetProperty(h *soHandle, call goja.FunctionCall) goja.Value {
	v, ok := h.so.GetProperty(jsapi.KeyFromJS(call.Argument(0).String()))
	if !ok {
		return goja.Undefined()
	}
	return s.app.Conv.ToJS(v)
}

// jsSetProperty: null or undefined deletes the slot; a value past the limits throws.
func (s *soScript) jsSetProperty(h *soHandle, call goja.FunctionCall) goja.Value {
	key := jsapi.KeyFromJS(call.Argument(0).String())
	var v any
	if arg := call.Argument(1); !goja.IsNull(arg) && !goja.IsUndefined(arg) {
		var err error
		if v, err = s.app.Conv.FromJS(arg); err != nil {
			panic(s.app.RT.NewTypeError("SharedObject.setProperty(%q): %v", key, err))
		}
	}
	if !s.app.Sandboxed {
		s.check(h.so.SetProperty(key, v))
	}
	return goja.Undefined()
}

func (s *soScript) jsPropertyNames(h *soHandle, _ goja.FunctionCall) goja.Value {
	names := h.so.PropertyNames()
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = jsapi.KeyToJS(n)
	}
	return s.app.RT.NewArray(vals...)
}

func (s *soScript) send(h *soHandle, call goja.FunctionCall) {
	method := call.Argument(0).String()
	var args []any
	if len(call.Arguments) > 1 {
		args = s.app.AMFArgs(call.Arguments[1:])
	}
	s.check(h.so.Send(method, args...))
	// FMS calls the server copy's handler of that name too (APP-API.md "SharedObject").
	if method != "" && method != "onSync" && !isProtoMethod(method) {
		var rest []goja.Value
		if len(call.Arguments) > 1 {
			rest = call.Arguments[1:]
		}
		if _, err := s.callOn(h.so, method, rest...); err != nil {
			panic(err) // the script's own handler threw: rethrow into the calling script
		}
	}
}

// jsFlush writes a persistent object now: true when written (or nothing to write), false for a
// non-persistent object (there is nothing it could be written to) or a failed write.
func (s *soScript) jsFlush(h *soHandle, _ goja.FunctionCall) goja.Value {
	if !h.so.Persistent() {
		return s.app.RT.ToValue(false)
	}
	if s.app.Sandboxed {
		return s.app.RT.ToValue(true)
	}
	if err := h.so.Flush(); err != nil {
		s.app.Log().Error().Err(err).Str("so", h.so.Name()).Msg("SharedObject.flush failed")
		return s.app.RT.ToValue(false)
	}
	return s.app.RT.ToValue(true)
}

// jsClose releases the server's hold; the script object is unusable afterwards and
// SharedObject.get returns a new one.
func (s *soScript) jsClose(h *soHandle, _ goja.FunctionCall) goja.Value {
	if s.app.Sandboxed {
		return goja.Undefined()
	}
	h.closed = true
	delete(s.handles, h.key)
	h.so.Close()
	return goja.Undefined()
}

// callOn calls so[method](args...) on the generation's script object of so, if the script got
// that object and defined the method (jsapi.App.ScriptMethod: a client's send reaches only a
// function the script set); it reports whether a handler ran.
func (s *soScript) callOn(so *sharedobject.Object, method string, args ...goja.Value) (bool, error) {
	h := s.handles[soKey(so.Name(), so.Persistent())]
	if h == nil {
		return false, nil
	}
	// so.NAME, else SharedObject.prototype.NAME, FMS style: own data properties the script set,
	// never Object.prototype's members nor the SharedObject API (jsapi's call rule).
	fn := s.app.ScriptMethod(h.obj, s.proto, method)
	if fn == nil {
		return false, nil
	}
	_, err := fn(h.obj, args...)
	return true, err
}

// sync runs so.onSync(list) after clients changed slots: items {name, code, oldValue} as in FMS
// (oldValue undefined for a slot that did not exist).
func (s *soScript) sync(so *sharedobject.Object, list []sharedobject.SyncItem) error {
	rt := s.app.RT
	items := make([]any, len(list))
	for i, it := range list {
		o := rt.NewObject()
		_ = o.Set("name", jsapi.KeyToJS(it.Name))
		_ = o.Set("code", it.Code)
		if it.OldValue != nil {
			_ = o.Set("oldValue", s.app.Conv.ToJS(it.OldValue))
		} else {
			_ = o.Set("oldValue", goja.Null())
		}
		items[i] = o
	}
	_, err := s.callOn(so, "onSync", rt.NewArray(items...))
	return err
}

// message runs the server copy's handler of a client's so.send(method, ...).
func (s *soScript) message(so *sharedobject.Object, method string, args []any) error {
	if method == "" || method == "onSync" || isProtoMethod(method) {
		return nil
	}
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = s.app.Conv.ToJS(a)
	}
	_, err := s.callOn(so, method, vals...)
	return err
}

// isProtoMethod refuses client calls of the SharedObject API itself (a client must not make the
// server clear or close its copy by sending "clear").
func isProtoMethod(name string) bool {
	switch name {
	case "getProperty", "setProperty", "getPropertyNames", "size", "lock", "unlock", "clear", "send",
		"flush", "purge", "close", "constructor":
		return true
	}
	return false
}
