package jsapi

import (
	"github.com/dop251/goja"
)

// hostClass is a constructor of FMS objects implemented in Go (File, XML, LoadVars) whose
// methods and accessors live on its prototype, not enumerable, as FMS's native members are:
// a for-in over an instance shows only what the script added. The prototype is kept out of
// dotted call names and its functions out of clients' reach (dispatch.go).
type hostClass struct {
	a     *App
	ctor  *goja.Object
	proto *goja.Object
}

// newHostClass makes the global name with construct as its [[Construct]] (call.This has the
// prototype already).
func (a *App) newHostClass(name string, construct func(call goja.ConstructorCall) *goja.Object) (*hostClass, error) {
	rt := a.RT
	ctor := rt.ToValue(construct).(*goja.Object)
	proto := rt.NewObject()
	if err := ctor.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return nil, err
	}
	_ = proto.DefineDataProperty("constructor", ctor, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE) // writable, configurable, enumerable
	a.DenyWalk(proto)
	hc := &hostClass{a: a, ctor: ctor, proto: proto}
	return hc, rt.Set(name, ctor)
}

// method defines proto.name as a host function.
func (hc *hostClass) method(name string, fn func(goja.FunctionCall) goja.Value) {
	v := hc.a.RT.ToValue(fn)
	hc.a.DenyCalls(v)
	_ = hc.proto.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// static defines ctor.name as a host function.
func (hc *hostClass) static(name string, fn func(goja.FunctionCall) goja.Value) {
	v := hc.a.RT.ToValue(fn)
	hc.a.DenyCalls(v)
	_ = hc.ctor.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// accessor defines proto.name with a getter and, if set is not nil, a setter (a read-only one
// ignores assignments, as FMS's read-only properties do).
func (hc *hostClass) accessor(name string, get func(this goja.Value) goja.Value, set func(this, v goja.Value)) {
	rt := hc.a.RT
	g := rt.ToValue(func(call goja.FunctionCall) goja.Value { return get(call.This) })
	s := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if set != nil {
			set(call.This, call.Argument(0))
		}
		return goja.Undefined()
	})
	_ = hc.proto.DefineAccessorProperty(name, g, s, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// throwRange throws a RangeError of the runtime's own class (a result past the containment cap).
func (a *App) throwRange(msg string) {
	panic(a.newError("RangeError", msg))
}

// throwType throws a TypeError (a wrong argument).
func (a *App) throwType(msg string) {
	panic(a.RT.NewTypeError(msg))
}

// newError makes an error of the built-in class name with msg.
func (a *App) newError(class, msg string) goja.Value {
	rt := a.RT
	if ctor, ok := a.builtinErrors[class]; ok {
		if e, err := rt.New(ctor, rt.ToValue(msg)); err == nil {
			return e
		}
	}
	return rt.NewGoError(errString(msg))
}

type errString string

func (e errString) Error() string { return string(e) }

// captureErrors keeps the built-in error classes before the app's code can replace them.
func (a *App) captureErrors() {
	a.builtinErrors = map[string]*goja.Object{}
	for _, n := range []string{"Error", "RangeError", "TypeError"} {
		if o, ok := a.RT.GlobalObject().Get(n).(*goja.Object); ok {
			a.builtinErrors[n] = o
		}
	}
}
