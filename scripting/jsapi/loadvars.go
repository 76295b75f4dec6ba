package jsapi

import (
	"net/http"
	"strings"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// FMS's LoadVars: the enumerable properties of the object are its variables. load(url) fetches
// url and decodes its name=value&... answer into the object, send(url) posts the variables,
// sendAndLoad(url, target[, method]) posts them and decodes the answer into target; onData(src)
// receives the raw answer (undefined on failure) and by default decodes it and calls
// onLoad(success). Its methods are not enumerable (toString and for-in list the variables only).
// The requests are made off the loop (web.go); a load answers in a later job, never at once.

// installLoadVars defines LoadVars and the HTTP members of XML.
func (a *App) installLoadVars() error {
	a.web.slot = goja.NewSymbol("fmsgo.http")
	hc, err := a.newHostClass("LoadVars", func(goja.ConstructorCall) *goja.Object { return nil })
	if err != nil {
		return err
	}
	rt := a.RT
	a.web.proto = hc.proto
	a.webCommon(hc, "LoadVars")
	rw(hc.proto, "contentType", rt.ToValue("application/x-www-form-urlencoded"))
	hc.method("decode", func(call goja.FunctionCall) goja.Value {
		decodeVars(rt, call.This.ToObject(rt), call.Argument(0).String())
		return goja.Undefined()
	})
	hc.method("toString", func(call goja.FunctionCall) goja.Value { return rt.ToValue(a.encodeVars(call.This.ToObject(rt))) })
	hc.method("onData", func(call goja.FunctionCall) goja.Value {
		obj := call.This.ToObject(rt)
		src := call.Argument(0)
		if goja.IsUndefined(src) {
			return a.onLoad(obj, false)
		}
		decodeVars(rt, obj, src.String())
		rw(obj, "loaded", rt.ToValue(true))
		return a.onLoad(obj, true)
	})
	hc.method("load", func(call goja.FunctionCall) goja.Value {
		obj := call.This.ToObject(rt)
		return a.request(obj, obj, call.Argument(0), http.MethodGet, nil)
	})
	hc.method("send", func(call goja.FunctionCall) goja.Value {
		obj := call.This.ToObject(rt)
		return a.request(obj, nil, call.Argument(0), methodArg(call.Argument(2)), []byte(a.encodeVars(obj)))
	})
	hc.method("sendAndLoad", func(call goja.FunctionCall) goja.Value {
		obj := call.This.ToObject(rt)
		target, ok := call.Argument(1).(*goja.Object)
		if !ok {
			a.throwType("LoadVars.sendAndLoad: the target must be an object (a LoadVars or an XML)")
		}
		return a.request(obj, target, call.Argument(0), methodArg(call.Argument(2)), []byte(a.encodeVars(obj)))
	})
	return nil
}

// onLoad calls obj.onLoad(success) and rethrows what it throws.
func (a *App) onLoad(obj *goja.Object, success bool) goja.Value {
	if err := a.callMethod(obj, "onLoad", a.RT.ToValue(success)); err != nil {
		panic(err)
	}
	return goja.Undefined()
}

// methodArg is send's method: "GET", or POST (the default).
func methodArg(v goja.Value) string {
	if !goja.IsUndefined(v) && strings.EqualFold(v.String(), "GET") {
		return http.MethodGet
	}
	return http.MethodPost
}

// request sends body (the variables) to url from obj and delivers the answer to target (nil:
// the answer is dropped, send). A GET carries the variables in the query. It returns false
// when no request was started (no URL, a bad one, too many in flight).
func (a *App) request(obj, target *goja.Object, urlArg goja.Value, method string, body []byte) goja.Value {
	if goja.IsUndefined(urlArg) || goja.IsNull(urlArg) || urlArg.String() == "" {
		return a.RT.ToValue(false)
	}
	req := webclient.Request{Method: method, URL: urlArg.String(), Body: body}
	if method == http.MethodGet && len(body) > 0 {
		sep := "?"
		if strings.Contains(req.URL, "?") {
			sep = "&"
		}
		req.URL += sep + string(body)
		req.Body = nil
	}
	deliver := func(answer) error { return nil }
	if target != nil {
		rw(target, "loaded", a.RT.ToValue(false))
		deliver = a.deliverTo(target)
	}
	return a.RT.ToValue(a.fetch(obj, req, deliver))
}

// xmlWebMethods defines XML's load, send, sendAndLoad, onData and the shared members.
func (a *App) xmlWebMethods(hc *hostClass) {
	rt := a.RT
	a.webCommon(hc, "XML")
	hc.method("onData", func(call goja.FunctionCall) goja.Value {
		obj := a.nodeArg(call.This, "XML.onData")
		src := call.Argument(0)
		if goja.IsUndefined(src) {
			return a.onLoad(obj, false)
		}
		a.parseInto(obj, src.String())
		rw(obj, "loaded", rt.ToValue(true))
		return a.onLoad(obj, true)
	})
	hc.method("load", func(call goja.FunctionCall) goja.Value {
		obj := call.This.ToObject(rt)
		return a.request(obj, obj, call.Argument(0), http.MethodGet, nil)
	})
	hc.method("send", func(call goja.FunctionCall) goja.Value {
		obj := a.nodeArg(call.This, "XML.send")
		return a.request(obj, nil, call.Argument(0), http.MethodPost, []byte(a.serialize(obj)))
	})
	hc.method("sendAndLoad", func(call goja.FunctionCall) goja.Value {
		obj := a.nodeArg(call.This, "XML.sendAndLoad")
		target, ok := call.Argument(1).(*goja.Object)
		if !ok {
			a.throwType("XML.sendAndLoad: the target must be an object (an XML)")
		}
		return a.request(obj, target, call.Argument(0), http.MethodPost, []byte(a.serialize(obj)))
	})
}

// encodeVars is LoadVars.toString: the object's own enumerable properties that are not
// functions, as name=value pairs escaped as Flash's escape() does, joined by '&'.
func (a *App) encodeVars(obj *goja.Object) string {
	var b strings.Builder
	for _, k := range obj.Keys() {
		v := obj.Get(k)
		if _, fn := goja.AssertFunction(v); fn || v == nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(flashEscape(k) + "=" + flashEscape(v.String()))
		if b.Len() > DefaultResultCap {
			a.throwRange("LoadVars.toString: result too large")
		}
	}
	return b.String()
}

// flashEscape is ActionScript's escape(): every byte of the UTF-8 form except letters and digits
// as %XX.
func flashEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// decodeVars is LoadVars.decode: name=value pairs separated by '&' ('+' is a space, %XX a
// byte), each an own enumerable property of obj (a name like "__proto__" included: it is
// defined, never assigned). A pair without '=' is a name with an empty value.
func decodeVars(rt *goja.Runtime, obj *goja.Object, src string) {
	n := 0
	for pair := range strings.SplitSeq(src, "&") {
		if pair == "" {
			continue
		}
		if n++; n > maxDecodedVars {
			return
		}
		k, v, _ := strings.Cut(pair, "=")
		_ = obj.DefineDataProperty(unescapeVar(k), rt.ToValue(unescapeVar(v)), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
}

// maxDecodedVars bounds the variables one decode defines (the answer itself is capped by the
// web client).
const maxDecodedVars = 65536

// unescapeVar decodes '+' and %XX; a malformed escape stays as written; the bytes are read as
// UTF-8 (invalid ones replaced).
func unescapeVar(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
