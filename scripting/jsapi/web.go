package jsapi

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// webBridge runs the HTTP requests of LoadVars and XML for one runtime: webclient does the
// request off the loop (time limit, size cap, bounded requests in flight per instance), and the
// answer comes back as a job of the loop (AppOptions.Reserve) that calls the object's
// onHTTPStatus and onData. Nothing waits on the loop. While the runtime is sandboxed (a reload
// building it) a request is held and made only once this generation takes over; an answer for
// a generation that no longer runs is dropped, as is one after the instance ended.
type webBridge struct {
	ctx    context.Context // ends with the instance (AppOptions.Done); made at the first request
	cancel context.CancelFunc
	slot   *goja.Symbol // the request state of LoadVars and XML objects
	proto  *goja.Object // LoadVars.prototype
}

// webState is what a LoadVars or XML object keeps for its requests.
type webState struct {
	headers      [][2]string
	loaded, size int64
}

// stateOf returns obj's request state, making it on first use.
func (a *App) stateOf(obj *goja.Object) *webState {
	if v := obj.GetSymbol(a.web.slot); v != nil {
		if st, ok := v.Export().(*webState); ok {
			return st
		}
	}
	st := &webState{}
	_ = obj.DefineDataPropertySymbol(a.web.slot, a.RT.ToValue(st), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return st
}

// context is the instance's request context.
func (a *App) webContext() context.Context {
	w := &a.web
	if w.ctx == nil {
		w.ctx, w.cancel = context.WithCancel(context.Background())
		if done, cancel := a.opts.Done, w.cancel; done != nil {
			go func() { <-done; cancel() }()
		}
	}
	return w.ctx
}

// answer is what reaches the loop: an HTTP status (0 when there was none) and the body, ok
// false when the request failed (network, time limit, size cap, status >= 400).
type answer struct {
	status int
	body   string
	ok     bool
}

// fetch starts req for obj and delivers the answer to deliver on the loop. It reports false
// when the request cannot start (no client, a bad URL, too many in flight), logged.
func (a *App) fetch(obj *goja.Object, req webclient.Request, deliver func(answer) error) bool {
	if a.opts.Web == nil || a.opts.Reserve == nil {
		return false
	}
	req.Header = a.headersOf(obj, req)
	if a.Sandboxed {
		a.opts.Reserve()(func(*goja.Runtime) error {
			if !a.Sandboxed { // this generation took over: make the request now
				a.start(obj, req, deliver)
			}
			return nil
		})
		return true
	}
	return a.start(obj, req, deliver)
}

// start hands req to the web client.
func (a *App) start(obj *goja.Object, req webclient.Request, deliver func(answer) error) bool {
	enqueue := a.opts.Reserve()
	st := a.stateOf(obj)
	err := a.opts.Web.Go(a.webContext(), req, func(resp *webclient.Response, err error) {
		ans := toAnswer(resp, err)
		if err != nil {
			a.log.Debug().Err(err).Str("url", req.URL).Msg("http request failed")
		}
		enqueue(func(*goja.Runtime) error {
			if a.Sandboxed {
				return nil // the generation was retired
			}
			st.loaded, st.size = int64(len(ans.body)), int64(len(ans.body))
			return deliver(ans)
		})
	})
	if err != nil {
		a.log.Warn().Err(err).Str("url", req.URL).Msg("http request not made")
		enqueue(func(*goja.Runtime) error { return nil }) // release the reservation
		return false
	}
	return true
}

// toAnswer turns a response into what the script sees: UTF-8 text (a BOM dropped, invalid
// bytes replaced).
func toAnswer(resp *webclient.Response, err error) answer {
	if resp == nil {
		return answer{}
	}
	ans := answer{status: resp.Status}
	if err != nil || resp.Status >= 400 {
		return ans
	}
	b := bytes.TrimPrefix(resp.Body, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(b) {
		ans.body = string(b)
	} else {
		ans.body = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	ans.ok = true
	return ans
}

// headersOf is the request's headers: the object's addRequestHeader ones, then Content-Type.
func (a *App) headersOf(obj *goja.Object, req webclient.Request) map[string][]string {
	h := map[string][]string{}
	for _, kv := range a.stateOf(obj).headers {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
	if req.Body != nil {
		ct := "application/x-www-form-urlencoded"
		if v := obj.Get("contentType"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			ct = v.String()
		}
		h["Content-Type"] = []string{ct}
	}
	return h
}

// deliverTo calls obj.onHTTPStatus(status) then obj.onData(body, or undefined on failure), the
// Flash order; methods that are not functions are skipped.
func (a *App) deliverTo(obj *goja.Object) func(answer) error {
	return func(ans answer) error {
		if err := a.callMethod(obj, "onHTTPStatus", a.RT.ToValue(ans.status)); err != nil {
			return err
		}
		data := goja.Undefined()
		if ans.ok {
			data = a.RT.ToValue(ans.body)
		}
		return a.callMethod(obj, "onData", data)
	}
}

// callMethod calls obj[name](args...) if it is a function.
func (a *App) callMethod(obj *goja.Object, name string, args ...goja.Value) error {
	fn, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return nil
	}
	_, err := fn(obj, args...)
	return err
}

// addRequestHeader is addRequestHeader(name, value) or addRequestHeader([n1, v1, n2, v2, ...]).
func (a *App) addRequestHeader(call goja.FunctionCall, what string) goja.Value {
	obj := call.This.ToObject(a.RT)
	st := a.stateOf(obj)
	args := call.Arguments
	if arr, ok := call.Argument(0).(*goja.Object); ok && arr.ClassName() == "Array" {
		args = nil
		for i := int64(0); i < length(arr) && i < 256; i++ {
			args = append(args, arr.Get(itoa(i)))
		}
	}
	if len(args)%2 != 0 || len(args) == 0 {
		a.throwType(what + ".addRequestHeader: name and value pairs expected")
	}
	for i := 0; i+1 < len(args) && len(st.headers) < 64; i += 2 {
		name := args[i].String()
		if strings.ContainsAny(name, "\r\n:") || strings.ContainsAny(args[i+1].String(), "\r\n") {
			a.throwType(what + ".addRequestHeader: invalid header " + name)
		}
		st.headers = append(st.headers, [2]string{name, args[i+1].String()})
	}
	return goja.Undefined()
}

// webCommon defines the members LoadVars and XML share.
func (a *App) webCommon(hc *hostClass, what string) {
	rt := a.RT
	hc.method("addRequestHeader", func(call goja.FunctionCall) goja.Value { return a.addRequestHeader(call, what) })
	hc.method("getBytesLoaded", func(call goja.FunctionCall) goja.Value { return rt.ToValue(a.stateOf(call.This.ToObject(rt)).loaded) })
	hc.method("getBytesTotal", func(call goja.FunctionCall) goja.Value { return rt.ToValue(a.stateOf(call.This.ToObject(rt)).size) })
	hc.method("onLoad", func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	hc.method("onHTTPStatus", func(goja.FunctionCall) goja.Value { return goja.Undefined() })
}
