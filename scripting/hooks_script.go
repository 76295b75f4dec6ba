package scripting

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// The JavaScript side of a hook (docs/hooks.md): the globals, the request and event objects it
// is given, and the reading of what its handlers return.

// installHookGlobals sets the global server object (where the script puts its handlers),
// trace() and console.
func installHookGlobals(rt *goja.Runtime, server *goja.Object, log zerolog.Logger) error {
	if err := rt.Set("server", server); err != nil {
		return err
	}
	if err := rt.Set("trace", hookLog(rt, log, "trace")); err != nil {
		return err
	}
	console := rt.NewObject()
	for _, lvl := range []string{"log", "info", "warn", "error", "debug"} {
		if err := console.Set(lvl, hookLog(rt, log, lvl)); err != nil {
			return err
		}
	}
	return rt.Set("console", console)
}

// hookLog makes trace / console.LEVEL: the arguments joined by spaces, as one log line.
func hookLog(rt *goja.Runtime, log zerolog.Logger, level string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, v := range call.Arguments {
			parts[i] = displayValue(rt, v)
		}
		ev := log.Info()
		switch level {
		case "warn":
			ev = log.Warn()
		case "error":
			ev = log.Error()
		case "debug":
			ev = log.Debug()
		}
		ev.Str("src", level).Msg(strings.Join(parts, " "))
		return goja.Undefined()
	}
}

// displayValue renders a value for a log line; a toString that throws gives a placeholder.
func displayValue(rt *goja.Runtime, v goja.Value) (s string) {
	if ex := rt.Try(func() { s = v.String() }); ex != nil {
		return "<unprintable>"
	}
	return s
}

// requestObject is the request a handler receives: plugin.Request's fields in camelCase, the
// query parsed. It is the hook's copy: changing it changes nothing (the returned object does).
func requestObject(rt *goja.Runtime, r *plugin.Request) *goja.Object {
	o := rt.NewObject()
	set := func(k string, v any) { _ = o.Set(k, v) }
	set("action", r.Action.String())
	set("app", r.App)
	set("instance", r.Instance)
	set("clientId", r.ClientID)
	set("ip", r.IP)
	set("protocol", r.Protocol)
	set("agent", r.Agent)
	set("referrer", r.Referrer)
	set("pageUrl", r.PageURL)
	set("tcUrl", r.TcURL)
	set("edge", r.Edge)
	set("stream", r.Stream)
	set("query", queryObject(rt, r.Query()))
	set("connectQuery", r.ConnectQuery)
	set("streamQuery", r.StreamQuery)
	set("publishType", r.PublishType)
	set("sharedObject", r.SharedObject)
	set("persistent", r.Persistent)
	set("readAccess", r.ReadAccess)
	set("writeAccess", r.WriteAccess)
	set("recordMaxKB", r.RecordMaxKB)
	set("recordMaxSeconds", r.RecordMaxSeconds)
	return o
}

// queryObject is a parsed query: each key's value, or an array of its values when it repeats.
func queryObject(rt *goja.Runtime, q url.Values) *goja.Object {
	o := rt.NewObject()
	for k, vs := range q {
		if len(vs) == 1 {
			_ = o.Set(k, vs[0])
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = v
		}
		_ = o.Set(k, rt.NewArray(arr...))
	}
	return o
}

// eventObject is the event server.onEvent receives.
func eventObject(rt *goja.Runtime, ev *plugin.Event) *goja.Object {
	o := rt.NewObject()
	set := func(k string, v any) { _ = o.Set(k, v) }
	set("type", ev.Kind.String())
	set("time", ev.Time.UnixMilli())
	set("seq", ev.Seq)
	set("app", ev.App)
	set("instance", ev.Instance)
	set("clientId", ev.ClientID)
	set("ip", ev.IP)
	set("protocol", ev.Protocol)
	set("agent", ev.Agent)
	set("referrer", ev.Referrer)
	set("pageUrl", ev.PageURL)
	set("edge", ev.Edge)
	set("stream", ev.Stream)
	set("status", ev.Status)
	set("reason", ev.Reason)
	set("bytesIn", ev.BytesIn)
	set("bytesOut", ev.BytesOut)
	set("duration", ev.Duration.Milliseconds())
	return o
}

// writable holds the writable fields a hook set (nil: left alone).
type writable struct {
	stream, readAccess, writeAccess *string
	recordMaxKB, recordMaxSeconds   *int64
}

// apply writes the fields the request's action allows into req and returns the decision: the
// stream name of a publish, play or record (the session core uses the name each leaves), the
// access lists of a connect, the limits of a record.
func (a hookAnswer) apply(req *plugin.Request) plugin.Decision {
	w := a.set
	switch req.Action {
	case plugin.ActPublish, plugin.ActPlay, plugin.ActRecord:
		setIf(&req.Stream, w.stream)
	case plugin.ActConnect:
		setIf(&req.ReadAccess, w.readAccess)
		setIf(&req.WriteAccess, w.writeAccess)
	}
	if req.Action == plugin.ActRecord {
		setIf(&req.RecordMaxKB, w.recordMaxKB)
		setIf(&req.RecordMaxSeconds, w.recordMaxSeconds)
	}
	return a.d
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// asPromise reports whether v is a Promise (an async handler's result), without exporting an
// ordinary object (which could run its getters).
func asPromise(v goja.Value) (*goja.Object, bool) {
	o, ok := v.(*goja.Object)
	return o, ok && o.ExportType() == promiseType
}

// verdict reads a handler's result (docs/hooks.md): undefined, null or true accept; false
// refuses; an object refuses with reject, redirects with redirect, else accepts with the
// writable fields it sets. Anything else is an error, and so a refusal (fail closed). Its getters
// may throw: the caller recovers.
func (hk *hook) verdict(req *plugin.Request, v goja.Value) (hookAnswer, error) {
	refuse := plugin.Decision{Verdict: plugin.Reject, Reason: "refused by hook " + hk.name}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return hookAnswer{d: plugin.Decision{Verdict: plugin.Accept}}, nil
	}
	o, isObj := v.(*goja.Object)
	if !isObj {
		if b, ok := v.Export().(bool); ok {
			if b {
				return hookAnswer{d: plugin.Decision{Verdict: plugin.Accept}}, nil
			}
			return hookAnswer{d: refuse}, nil
		}
		return hookAnswer{}, fmt.Errorf("%s returned %s, which is no verdict (undefined, true, false or an object)",
			handlerNames[req.Action], v.String()) // a primitive: String runs no script
	}
	if o.ClassName() != "Object" {
		return hookAnswer{}, fmt.Errorf("%s returned a %s, which is no verdict", handlerNames[req.Action], o.ClassName())
	}
	reason, _ := optString(o, "reason")
	if r := o.Get("reject"); r != nil && r.ToBoolean() {
		if s, ok := r.Export().(string); ok {
			refuse.Reason = s
		} else if reason != nil && *reason != "" {
			refuse.Reason = *reason
		}
		return hookAnswer{d: refuse}, nil
	}
	if u, err := optString(o, "redirect"); err != nil || u != nil {
		if err != nil || *u == "" {
			return hookAnswer{}, fmt.Errorf("redirect must be a URL string")
		}
		d := plugin.Decision{Verdict: plugin.Redirect, RedirectURL: *u}
		if reason != nil {
			d.Reason = *reason
		}
		return hookAnswer{d: d}, nil
	}
	set, err := readWritable(o)
	if err != nil {
		return hookAnswer{}, err
	}
	return hookAnswer{d: plugin.Decision{Verdict: plugin.Accept}, set: set}, nil
}

// readWritable reads the writable fields of a result object.
func readWritable(o *goja.Object) (w writable, err error) {
	if w.stream, err = optString(o, "stream"); err != nil {
		return w, err
	}
	if w.stream != nil && *w.stream == "" {
		return w, fmt.Errorf("stream must not be empty")
	}
	if w.readAccess, err = optString(o, "readAccess"); err != nil {
		return w, err
	}
	if w.writeAccess, err = optString(o, "writeAccess"); err != nil {
		return w, err
	}
	if w.recordMaxKB, err = optCount(o, "recordMaxKB"); err != nil {
		return w, err
	}
	w.recordMaxSeconds, err = optCount(o, "recordMaxSeconds")
	return w, err
}

// optString reads o[key]: nil when undefined, an error when not a string.
func optString(o *goja.Object, key string) (*string, error) {
	v := o.Get(key)
	if v == nil || goja.IsUndefined(v) {
		return nil, nil
	}
	s, ok := v.Export().(string)
	if !ok {
		return nil, fmt.Errorf("%s must be a string", key)
	}
	return &s, nil
}

// optCount reads o[key]: nil when undefined, an error unless a whole number >= 0.
func optCount(o *goja.Object, key string) (*int64, error) {
	v := o.Get(key)
	if v == nil || goja.IsUndefined(v) {
		return nil, nil
	}
	var f float64
	switch n := v.Export().(type) {
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return nil, fmt.Errorf("%s must be a number", key)
	}
	if f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return nil, fmt.Errorf("%s must be a whole number >= 0", key)
	}
	n := int64(f)
	return &n, nil
}

// rejection turns the reason a handler's Promise was rejected with into an error with the JS
// stack when it is an Error.
func rejection(rt *goja.Runtime, v goja.Value) error {
	msg := displayValue(rt, v)
	stack := msg
	if o, ok := v.(*goja.Object); ok {
		if sv := o.Get("stack"); sv != nil {
			if st, ok := sv.Export().(string); ok && st != "" {
				stack = st
			}
		}
	}
	return &jsloop.JSError{Message: "Promise rejected: " + msg, Stack: "Promise rejected: " + stack}
}
