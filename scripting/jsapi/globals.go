package jsapi

import (
	"strings"

	"github.com/dop251/goja"
)

// unsupported are FMS globals that fmsgo does not implement yet: using them throws an error that
// names them, instead of a puzzling "X is not defined".
var unsupported = []string{"NetConnection", "SharedObject", "NetServices", "XMLSocket", "WebService"}

func (a *App) installGlobals() error {
	rt := a.RT
	if err := rt.Set("trace", a.logFunc("trace")); err != nil {
		return err
	}
	console := rt.NewObject()
	for _, lvl := range []string{"log", "info", "warn", "error", "debug"} {
		_ = console.Set(lvl, a.logFunc(lvl))
	}
	if err := rt.Set("console", console); err != nil {
		return err
	}
	for _, name := range unsupported {
		if err := rt.Set(name, a.notSupported(name)); err != nil {
			return err
		}
	}
	if err := a.installStream(); err != nil {
		return err
	}
	if err := a.installFile(); err != nil {
		return err
	}
	if err := a.installXML(); err != nil {
		return err
	}
	if err := a.installLoadVars(); err != nil {
		return err
	}
	if err := rt.Set("load", a.jsLoad); err != nil {
		return err
	}
	return rt.Set("require", a.requireFrom(a.opts.Dir))
}

// logFunc makes trace / console.LEVEL: the arguments joined by spaces, through zerolog.
func (a *App) logFunc(level string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, v := range call.Arguments {
			parts[i] = a.display(v)
		}
		ev := a.log.Info()
		switch level {
		case "warn":
			ev = a.log.Warn()
		case "error":
			ev = a.log.Error()
		case "debug":
			ev = a.log.Debug()
		}
		ev.Str("src", level).Msg(strings.Join(parts, " "))
		return goja.Undefined()
	}
}

// display renders any value for a log line; a toString that throws gives a placeholder.
func (a *App) display(v goja.Value) (s string) {
	if ex := a.RT.Try(func() { s = v.String() }); ex != nil {
		return "<unprintable>"
	}
	return s
}

// notSupported is a constructor (with static methods, e.g. SharedObject.get) that throws.
func (a *App) notSupported(name string) *goja.Object {
	rt := a.RT
	thrower := func(goja.FunctionCall) goja.Value {
		panic(rt.NewGoError(notSupportedError(name)))
	}
	ctor := rt.ToValue(func(goja.ConstructorCall) *goja.Object {
		panic(rt.NewGoError(notSupportedError(name)))
	}).(*goja.Object)
	for _, m := range []string{"get", "getRemote", "connect", "load", "exists", "length"} {
		_ = ctor.Set(m, thrower)
	}
	return ctor
}

type notSupportedError string

func (e notSupportedError) Error() string {
	return string(e) + " is not supported yet by fmsgo"
}

// installStream defines Stream: objects made by the server for publish/play requests; script
// driving (Stream.get, play, record) is not supported yet.
func (a *App) installStream() error {
	rt := a.RT
	ctor := a.notSupported("Stream")
	proto := rt.NewObject()
	_ = ctor.Set("prototype", proto)
	a.streamProto = proto
	a.DenyWalk(proto)
	for _, m := range []string{"play", "record", "send", "setBufferTime", "clear"} {
		name := "Stream." + m
		_ = proto.Set(m, func(goja.FunctionCall) goja.Value {
			panic(rt.NewGoError(notSupportedError(name)))
		})
	}
	return rt.Set("Stream", ctor)
}

// Stream returns the script object for a client's stream name, the same object on every call
// until ForgetStream, so expando properties survive from onPublish to onUnpublish.
func (a *App) Stream(c *Client, name, query string) *goja.Object {
	m := a.streams[c]
	if m == nil {
		m = map[string]*goja.Object{}
		a.streams[c] = m
	}
	if o := m[name]; o != nil {
		_ = o.Set("publishQueryString", query) // each publish attempt carries its own query
		return o
	}
	o := a.RT.NewObject()
	_ = o.SetPrototype(a.streamProto)
	_ = o.Set("name", name)
	_ = o.Set("publishQueryString", query)
	_ = o.Set("time", 0)
	m[name] = o
	return o
}

// ForgetStream drops the stream object of a client's stream name.
func (a *App) ForgetStream(c *Client, name string) {
	delete(a.streams[c], name)
}

// EachStream calls fn for every stream object the app holds (those of accepted clients).
func (a *App) EachStream(fn func(c *Client, name string, obj *goja.Object)) {
	for c, m := range a.streams {
		for name, o := range m {
			fn(c, name, o)
		}
	}
}

// IsStream reports whether obj is a Stream object of this runtime (held or forgotten).
func (a *App) IsStream(obj *goja.Object) bool { return obj.Prototype() == a.streamProto }

// IsClientObject reports whether obj is a Client object of this runtime, including one whose
// connection is gone (ClientOf no longer knows it).
func (a *App) IsClientObject(obj *goja.Object) bool { return obj.Prototype() == a.ClientProto }
