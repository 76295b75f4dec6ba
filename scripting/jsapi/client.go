package jsapi

import (
	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
)

// ClientProps are the connection facts a Client object shows to the script. Through an edge they
// are the real client's.
type ClientProps struct {
	ID, IP, Agent, Referrer, PageURL, Protocol, URI, Query string
	HasEdge                                                bool
	EdgeID, EdgeAddress                                    string
}

// Client is one connection as one generation's runtime sees it. Peer is the host's handle (the
// engine's own record); the script-visible id may be overwritten and is never used for lookup.
type Client struct {
	Obj  *goja.Object
	Peer any

	bwUp, bwDown float64
	listed       bool                // AddClient put it in application.clients and RemoveClient has not taken it out
	members      memberCache[string] // RPC names found as own data properties of Obj (callGuard)
}

func (a *App) installClientClass() error {
	rt := a.RT
	ctor := rt.ToValue(func(goja.ConstructorCall) *goja.Object {
		panic(rt.NewTypeError("Client objects are made by the server for each connection"))
	}).(*goja.Object)
	proto := rt.NewObject()
	_ = ctor.Set("prototype", proto)
	_ = proto.DefineDataProperty("constructor", ctor, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	a.DenyCalls(ctor)
	methods := map[string]func(*Client, goja.FunctionCall) goja.Value{
		"call":              a.jsClientCall,
		"ping":              func(*Client, goja.FunctionCall) goja.Value { return rt.ToValue(true) },
		"getStats":          a.jsClientStats,
		"setBandwidthLimit": a.jsSetBandwidth,
		"getBandwidthLimit": a.jsGetBandwidth,
	}
	for name, m := range methods {
		fn := rt.ToValue(a.clientMethod(name, m))
		a.DenyCalls(fn) // host methods are the script's to call, never a client's
		_ = proto.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	a.ClientProto = proto
	a.DenyWalk(proto) // another client stored by the script is never a path to its methods
	return rt.Set("Client", ctor)
}

// clientMethod binds a Client.prototype method to the Client its `this` stands for.
func (a *App) clientMethod(name string, m func(*Client, goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		c := a.ClientOf(call.This)
		if c == nil {
			panic(a.RT.NewTypeError("Client.prototype.%s called on a non-client", name))
		}
		return m(c, call)
	}
}

// NewClient makes the script object of a connection, an instance of Client with the connection's
// properties (strings, "" when absent).
func (a *App) NewClient(peer any, p ClientProps) *Client {
	o := a.RT.CreateObject(a.ClientProto)
	for _, kv := range [][2]string{{"id", p.ID}, {"ip", p.IP}, {"agent", p.Agent}, {"referrer", p.Referrer},
		{"pageUrl", p.PageURL}, {"protocol", p.Protocol}, {"uri", p.URI}, {"virtualKey", p.URI},
		{"query", p.Query}, {"readAccess", "/"}, {"writeAccess", "/"}} {
		_ = o.Set(kv[0], kv[1])
	}
	edge := goja.Null()
	if p.HasEdge {
		e := a.RT.NewObject()
		_ = e.Set("id", p.EdgeID)
		_ = e.Set("address", p.EdgeAddress)
		edge = e
	}
	_ = o.Set("edge", edge)
	c := &Client{Obj: o, Peer: peer}
	a.byObj[o] = c
	return c
}

// ClientOf returns the Client whose script object v is, or nil.
func (a *App) ClientOf(v goja.Value) *Client {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	return a.byObj[o]
}

// jsClientCall implements client.call(method, responder, ...args). The responder's onResult /
// onStatus run with this = responder; any other responder value is ignored.
func (a *App) jsClientCall(c *Client, call goja.FunctionCall) goja.Value {
	method := call.Argument(0).String()
	var args []any
	if len(call.Arguments) > 2 {
		args = a.AMFArgs(call.Arguments[2:])
	}
	if a.Sandboxed {
		return a.RT.ToValue(true)
	}
	var answer func(any, *amf.Object)
	if resp, ok := call.Argument(1).(*goja.Object); ok {
		answer = func(v any, errInfo *amf.Object) { a.answer(resp, v, errInfo) }
	}
	a.opts.Host.CallClient(c, method, args, answer)
	return a.RT.ToValue(true)
}

// answer delivers a client's reply to a responder; a throw in it is logged.
func (a *App) answer(resp *goja.Object, v any, errInfo *amf.Object) {
	name, arg := "onResult", v
	if errInfo != nil {
		name, arg = "onStatus", any(errInfo)
	}
	fn, ok := goja.AssertFunction(resp.Get(name))
	if !ok {
		return
	}
	if _, err := fn(resp, a.Conv.ToJS(arg)); err != nil {
		a.log.Error().Str("src", "responder."+name).Str("err", err.Error()).Msg("js error")
	}
}

func (a *App) jsClientStats(c *Client, _ goja.FunctionCall) goja.Value {
	s := a.opts.Host.ClientStats(c)
	o := a.RT.NewObject()
	for _, kv := range []struct {
		k string
		v float64
	}{{"bytes_in", float64(s.BytesIn)}, {"bytes_out", float64(s.BytesOut)}, {"msg_in", float64(s.MsgIn)},
		{"msg_out", float64(s.MsgOut)}, {"ping_rtt", s.PingRTTMs}} {
		_ = o.Set(kv.k, kv.v)
	}
	return o
}

// jsSetBandwidth records FMS's per-client caps; they are reported, not yet enforced.
func (a *App) jsSetBandwidth(c *Client, call goja.FunctionCall) goja.Value {
	if up := call.Argument(0).ToFloat(); up > 0 {
		c.bwUp = up
	}
	if down := call.Argument(1).ToFloat(); down > 0 {
		c.bwDown = down
	}
	return goja.Undefined()
}

func (a *App) jsGetBandwidth(c *Client, call goja.FunctionCall) goja.Value {
	if call.Argument(0).ToInteger() == 0 {
		return a.RT.ToValue(c.bwUp)
	}
	return a.RT.ToValue(c.bwDown)
}
