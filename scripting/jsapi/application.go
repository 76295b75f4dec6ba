package jsapi

import (
	"fmt"
	"strconv"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/scripting/appfs"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// DecisionKind is what the app decided about a connecting client.
type DecisionKind int

// Decisions an app can make about a connection.
const (
	Accept DecisionKind = iota + 1
	Reject
	Redirect
)

// Decision is one verdict on a connection, as the host must deliver it. Info is the value the app
// passed (rejectConnection's info, redirectConnection's info), converted to AMF; it reaches the
// client as the status object's "application" property.
type Decision struct {
	Kind        DecisionKind
	Info        any
	URL         string // Redirect only
	Description string // Redirect only
}

// ClientStats are a connection's counters as getStats reports them.
type ClientStats struct {
	BytesIn, BytesOut, MsgIn, MsgOut uint64
	PingRTTMs                        float64
}

// Host is the engine side of one app instance. Its methods run on the instance loop and must not
// block. The App never calls the effect methods (Decide, Disconnect, Shutdown, CallClient) while
// it is sandboxed (a reload building a new generation), so the host need not check.
type Host interface {
	Decide(c *Client, d Decision)
	Disconnect(c *Client)
	Shutdown()
	// CallClient sends a server→client call. answer, when not nil, must be called on the loop
	// (or never, e.g. after a reload dropped the generation that made the call).
	CallClient(c *Client, method string, args []any, answer func(value any, errInfo *amf.Object))
	ClientStats(c *Client) ClientStats
	AppStats() map[string]any
	// Track reports a file that load() or require() read, so that edits to it reload the app.
	Track(path string)
}

// AppOptions describes the instance an App is built for.
type AppOptions struct {
	Name     string // "APP/INSTANCE"
	Dir      string // absolute app folder: load() and require() resolve here
	LibDir   string // FMS server script library, searched by load() after Dir ("" = none)
	Config   []byte // app.json "config" object as JSON (nil = {})
	Server   string // application.server
	Hostname string
	Log      zerolog.Logger
	Host     Host
	// ReadSource reads and normalises a script file (BOM, line ends).
	ReadSource func(path string) (string, error)
	// Files is what the File object reaches (the app folder and its virtual directories); nil:
	// no file system, every File operation fails.
	Files appfs.FS
	// Web makes the HTTP requests of LoadVars and XML (nil: they fail); Reserve delivers their
	// answers to the instance loop (jsloop.Loop.Reserve); Done ends with the instance.
	Web     *webclient.Client
	Reserve func() func(jsloop.Job)
	Done    <-chan struct{}
}

// App is the FMS object model installed in one runtime: the global `application`, the `Client`
// class, trace/console, load/require and the placeholders of objects not supported yet. One App
// belongs to one generation of one instance and, like its runtime, to the instance loop.
type App struct {
	RT          *goja.Runtime
	Conv        *Converter
	Application *goja.Object
	ClientProto *goja.Object
	// Sandboxed makes every effect leaving the runtime a no-op (reload build, old onAppStop).
	Sandboxed bool

	opts        AppOptions
	log         zerolog.Logger
	clients     *goja.Object // the live application.clients array
	remove      goja.Callable
	modules     map[string]*goja.Object // require cache, per generation
	byObj       map[*goja.Object]*Client
	streamProto *goja.Object
	streams     map[*Client]map[string]*goja.Object
	loaded      TopLevel // top-level lexical names of load()ed files
	calls       callGuard

	builtinErrors map[string]*goja.Object
	files         fileClass
	xml           xmlClass
	web           webBridge
}

// NewApp installs the object model into rt. Call it on the loop before running the app's code.
func NewApp(rt *goja.Runtime, opts AppOptions) (*App, error) {
	a := &App{RT: rt, Conv: NewConverter(rt), opts: opts, modules: map[string]*goja.Object{}, byObj: map[*goja.Object]*Client{},
		streams: map[*Client]map[string]*goja.Object{}, calls: newCallGuard(rt)}
	a.log = opts.Log.With().Str("app", opts.Name).Logger()
	a.calls.watchDefines(rt)
	a.captureErrors()
	rm, err := rt.RunString(`(function(a, x){ var i = a.indexOf(x); if (i >= 0) a.splice(i, 1); })`)
	if err != nil {
		return nil, fmt.Errorf("jsapi %s: %w", opts.Name, err)
	}
	a.remove, _ = goja.AssertFunction(rm)
	if err := a.installApplication(); err != nil {
		return nil, err
	}
	if err := a.installClientClass(); err != nil {
		return nil, err
	}
	if err := a.installGlobals(); err != nil {
		return nil, err
	}
	return a, nil
}

// AllowDebug reports application.allowDebug as the script set it: while true, clients are told
// the text of JS errors in the handlers they called (else a generic description). A getter
// there is not run.
func (a *App) AllowDebug() bool {
	v, _ := a.calls.ownData(a.Application, a.RT.ToValue("allowDebug"))
	return v != nil && v.ToBoolean()
}

// Log is the instance's logger (app name attached).
func (a *App) Log() *zerolog.Logger { return &a.log }

func (a *App) installApplication() error {
	rt := a.RT
	app := rt.NewObject()
	a.Application = app
	a.clients = rt.NewArray()
	cfg := goja.Value(rt.NewObject())
	if len(a.opts.Config) > 0 {
		v, err := rt.RunString("(" + string(a.opts.Config) + ")")
		if err != nil {
			return fmt.Errorf("jsapi %s: app.json config: %w", a.opts.Name, err)
		}
		cfg = v
	}
	a.DenyWalk(app) // a dotted call name never walks into the application object
	set := func(k string, v any) { _ = app.Set(k, v) }
	host := func(k string, f func(goja.FunctionCall) goja.Value) {
		fn := rt.ToValue(f)
		a.DenyCalls(fn) // the application API is the script's, never a client's
		_ = app.Set(k, fn)
	}
	set("name", a.opts.Name)
	set("clients", a.clients)
	set("server", a.opts.Server)
	set("hostname", a.opts.Hostname)
	set("config", cfg)
	set("allowDebug", false)
	host("acceptConnection", a.jsDecide(Accept))
	host("rejectConnection", a.jsDecide(Reject))
	host("redirectConnection", a.jsDecide(Redirect))
	host("disconnect", a.jsDisconnect)
	host("broadcastMsg", a.jsBroadcast)
	host("shutdown", a.jsShutdown)
	host("getStats", a.jsAppStats)
	host("registerClass", a.jsRegisterClass)
	return rt.Set("application", app)
}

// jsDecide implements acceptConnection / rejectConnection / redirectConnection. FMS returns
// true when the client was found.
func (a *App) jsDecide(kind DecisionKind) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		c := a.ClientOf(call.Argument(0))
		if c == nil {
			return a.RT.ToValue(false)
		}
		d := Decision{Kind: kind}
		switch kind {
		case Reject:
			d.Info = a.amfArg(call.Argument(1))
		case Redirect:
			d.URL = call.Argument(1).String()
			if len(call.Arguments) > 2 && !goja.IsUndefined(call.Argument(2)) {
				d.Description = call.Argument(2).String()
			}
			d.Info = a.amfArg(call.Argument(3))
		}
		if !a.Sandboxed {
			a.opts.Host.Decide(c, d)
		}
		return a.RT.ToValue(true)
	}
}

// amfArg converts an optional argument; undefined and unconvertible values are nil.
func (a *App) amfArg(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	out, err := a.Conv.FromJS(v)
	if err != nil {
		a.log.Warn().Err(err).Msg("value not sendable; sent as null")
		return nil
	}
	return out
}

// AMFArgs converts call arguments for sending (unsendable values become null, logged).
func (a *App) AMFArgs(vals []goja.Value) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = a.amfArgKeepUndefined(v)
	}
	return out
}

func (a *App) amfArgKeepUndefined(v goja.Value) any {
	out, err := a.Conv.FromJS(v)
	if err != nil {
		a.log.Warn().Err(err).Msg("value not sendable; sent as null")
		return nil
	}
	return out
}

func (a *App) jsDisconnect(call goja.FunctionCall) goja.Value {
	c := a.ClientOf(call.Argument(0))
	if c == nil {
		return a.RT.ToValue(false)
	}
	if !a.Sandboxed {
		a.opts.Host.Disconnect(c)
	}
	return a.RT.ToValue(true)
}

func (a *App) jsBroadcast(call goja.FunctionCall) goja.Value {
	method := call.Argument(0).String()
	args := a.AMFArgs(call.Arguments[min(1, len(call.Arguments)):])
	if a.Sandboxed {
		return goja.Undefined()
	}
	for _, c := range a.Clients() {
		a.opts.Host.CallClient(c, method, args, nil)
	}
	return goja.Undefined()
}

func (a *App) jsShutdown(goja.FunctionCall) goja.Value {
	if !a.Sandboxed {
		a.opts.Host.Shutdown()
	}
	return a.RT.ToValue(true)
}

func (a *App) jsAppStats(goja.FunctionCall) goja.Value {
	return a.RT.ToValue(a.opts.Host.AppStats())
}

func (a *App) jsRegisterClass(call goja.FunctionCall) goja.Value {
	name := call.Argument(0).String()
	ctor, _ := call.Argument(1).(*goja.Object)
	a.Conv.RegisterClass(name, ctor)
	return goja.Undefined()
}

// Clients returns the accepted clients in application.clients order.
func (a *App) Clients() []*Client {
	n := int(a.clients.Get("length").ToInteger())
	out := make([]*Client, 0, n)
	for i := range n {
		if c := a.ClientOf(a.clients.Get(strconv.Itoa(i))); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// ClientList is the live application.clients array (the one the runtime started with, even if
// the script replaced the property).
func (a *App) ClientList() *goja.Object { return a.clients }

// AddClient appends an accepted client to the live application.clients array.
func (a *App) AddClient(c *Client) {
	n := a.clients.Get("length").ToInteger()
	_ = a.clients.Set(strconv.FormatInt(n, 10), c.Obj)
	c.listed = true
}

// RemoveClient takes a client out of application.clients.
func (a *App) RemoveClient(c *Client) {
	if c.listed { // a second call (onDisconnect's, then the instance's own) has nothing to search
		c.listed = false
		a.unlist(c.Obj)
	}
	delete(a.streams, c)
	delete(a.byObj, c.Obj)
}

// unlist removes o from the live application.clients array, keeping the others in order. A
// client among the last unlistFromGo (all of them in most instances; the newest clients are the
// likeliest to leave) is taken out from Go: a call into script goes through the contained
// indexOf and splice, which cost a connect-and-leave cycle a third of its script time. Further
// back, the script's native search and shift are faster than element-by-element access from Go.
func (a *App) unlist(o *goja.Object) {
	arr := a.clients
	n := arr.Get("length").ToInteger()
	i := n - 1
	for ; i >= 0 && i >= n-unlistFromGo && arr.Get(strconv.FormatInt(i, 10)) != o; i-- {
	}
	if i < 0 || i < n-unlistFromGo {
		_, _ = a.remove(goja.Undefined(), arr, o)
		return
	}
	for ; i < n-1; i++ {
		_ = arr.Set(strconv.FormatInt(i, 10), arr.Get(strconv.FormatInt(i+1, 10)))
	}
	_ = arr.Set("length", n-1)
}

// unlistFromGo is how many of the last clients unlist searches from Go.
const unlistFromGo = 128

// Handler returns application[name] when it is a function.
func (a *App) Handler(name string) (goja.Callable, bool) {
	return goja.AssertFunction(a.Application.Get(name))
}

// CallHandler calls application[name](args...) with this = application; ok is false when the app
// defines no such handler.
func (a *App) CallHandler(name string, args ...goja.Value) (v goja.Value, ok bool, err error) {
	fn, ok := a.Handler(name)
	if !ok {
		return goja.Undefined(), false, nil
	}
	v, err = fn(a.Application, args...)
	return v, true, err
}

// Info makes a plain {code: code} object (onAppStart / onAppStop info).
func (a *App) Info(code string) goja.Value {
	o := a.RT.NewObject()
	_ = o.Set("level", "status")
	_ = o.Set("code", code)
	return o
}
