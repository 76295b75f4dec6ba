package scripting

import (
	"errors"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// callFailed is the _error status of a client call.
func callFailed(description string) *amf.Object {
	return status("error", "NetConnection.Call.Failed", description)
}

// MethodNotFound is the _error status of a call whose name reaches no function the app
// defined (jsapi's ResolveMethod rule), and of any call on a connection with no app. The
// description does not echo the name.
func MethodNotFound() *amf.Object { return callFailed("method not found") }

// genericError is what a client is told about a JS error in an app's handler: the error's text
// and stack go to the server log only, unless application.allowDebug is true.
const genericError = "server error"

// errorText is the description of err for a client: its first line while the app's
// application.allowDebug is true, else generic.
func (g *generation) errorText(err error, generic string) string {
	if g.app.AllowDebug() {
		return firstLine(err)
	}
	return generic
}

// Call runs the client's NetConnection.call(name, ...) and answers it through the session:
// _result with the handler's value (when a returned Promise settles), _error for a missing
// method, a throw, or a rejected promise.
func (c *Client) Call(name string, txn float64, args []any) {
	inst := c.inst
	if err := inst.loop.Post(func(*goja.Runtime) error { return inst.call(c, name, txn, args) }); err != nil {
		c.sess.ReplyError(txn, callFailed("application busy: "+err.Error()))
	}
}

// CallNow is Call run on the calling goroutine when the instance's loop is idle
// (jsloop.RunInline), else posted like Call: for a caller that waits for nothing else meanwhile
// and holds no lock (a session's reader handing over a client's call), it saves two goroutine
// hand-overs per call.
func (c *Client) CallNow(name string, txn float64, args []any) {
	inst := c.inst
	if !inst.loop.RunInline(func(*goja.Runtime) error { return inst.call(c, name, txn, args) }) {
		c.Call(name, txn, args)
	}
}

func (inst *instance) call(c *Client, name string, txn float64, args []any) error {
	g := inst.gen
	if c.state != stateAccepted || g == nil {
		c.sess.ReplyError(txn, callFailed("connection not accepted"))
		return nil
	}
	jc := g.objIn(c)
	fn, this, err := g.app.ResolveMethod(jc, name)
	if err == nil && fn == nil {
		c.sess.ReplyError(txn, MethodNotFound())
		return nil
	}
	var v goja.Value
	if err == nil {
		jsArgs := make([]goja.Value, len(args))
		for i, a := range args {
			jsArgs[i] = g.app.Conv.ToJS(a)
		}
		v, err = fn(this, jsArgs...)
	}
	if err != nil {
		c.sess.ReplyError(txn, callFailed(g.errorText(err, genericError)))
		return err // the loop logs it with its stack and reports it to application.onStatus
	}
	if p, ok := v.Export().(*goja.Promise); ok && txn != 0 {
		return inst.answerPromise(g, c, txn, v.(*goja.Object), p)
	}
	if txn != 0 {
		inst.reply(g, c, txn, v)
	}
	return nil
}

// reply sends v as the _result, or _error when it cannot be converted.
func (inst *instance) reply(g *generation, c *Client, txn float64, v goja.Value) {
	out, err := g.app.Conv.FromJS(v)
	if err != nil {
		inst.log.Error().Str("client", c.sess.ID()).Err(err).Msg("rpc result not sendable")
		c.sess.ReplyError(txn, callFailed(g.errorText(err, "result not sendable")))
		return
	}
	c.sess.Reply(txn, out)
}

// answerPromise answers when p settles. A reload fails it ("application reloaded").
func (inst *instance) answerPromise(g *generation, c *Client, txn float64, obj *goja.Object, p *goja.Promise) error {
	r := &pendingRPC{c: c, txn: txn}
	inst.rpcs[r] = struct{}{}
	settle := func(ok bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if _, live := inst.rpcs[r]; !live || c.state != stateAccepted {
				return goja.Undefined()
			}
			delete(inst.rpcs, r)
			if ok {
				inst.reply(g, c, txn, call.Argument(0))
			} else {
				inst.rejected(g, c, txn, call.Argument(0))
			}
			return goja.Undefined()
		}
	}
	then, ok := goja.AssertFunction(obj.Get("then"))
	if !ok {
		delete(inst.rpcs, r)
		c.sess.ReplyError(txn, callFailed("broken promise"))
		return nil
	}
	_, err := then(obj, g.rt.ToValue(settle(true)), g.rt.ToValue(settle(false)))
	return err
}

// rejected answers a call whose promise was rejected: like a throw, the reason reaches the
// client only while application.allowDebug is true, and the server log always.
func (inst *instance) rejected(g *generation, c *Client, txn float64, reason goja.Value) {
	text := reason.String()
	inst.log.Error().Str("client", c.sess.ID()).Str("err", text).Msg("rpc promise rejected")
	if !g.app.AllowDebug() {
		text = genericError
	}
	c.sess.ReplyError(txn, callFailed(text))
}

// failPromises answers every unsettled promise RPC with _error (after a reload).
func (inst *instance) failPromises(why string) {
	for r := range inst.rpcs {
		delete(inst.rpcs, r)
		if r.c.state == stateAccepted {
			r.c.sess.ReplyError(r.txn, callFailed(why))
		}
	}
}

// Publish asks onPublish whether the client may publish st; verdict is called exactly once.
// A stream outside the client's writeAccess is refused before onPublish runs.
func (c *Client) Publish(st StreamRef, verdict func(ok bool, info *amf.Object)) {
	c.streamEvent(streamAsk{"onPublish", "NetStream.Publish.BadName", true}, st, verdict)
}

// Play asks onPlay (ext) whether the client may play st; verdict is called exactly once.
// A stream outside the client's readAccess is refused before onPlay runs.
func (c *Client) Play(st StreamRef, verdict func(ok bool, info *amf.Object)) {
	c.streamEvent(streamAsk{"onPlay", "NetStream.Play.Failed", false}, st, verdict)
}

// Unpublish tells onUnpublish that the client stopped publishing st.
func (c *Client) Unpublish(st StreamRef) {
	inst := c.inst
	inst.post(func() {
		g := inst.gen
		if g == nil || c.state != stateAccepted {
			return
		}
		jc := g.objIn(c)
		inst.unpublished(g, jc, g.app.Stream(jc, st.Name, st.Query), st.Name)
	})
}

// unpublished runs onUnpublish for a stream the app had accepted and forgets its object.
func (inst *instance) unpublished(g *generation, jc *jsapi.Client, stream *goja.Object, name string) {
	if _, _, err := g.app.CallHandler("onUnpublish", jc.Obj, stream); err != nil {
		inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("onUnpublish threw")
	}
	g.app.ForgetStream(jc, name)
}

// PublishIdentity is who publishes with query, for the hub's takeover rule (live.Claim): the
// client's address and its connect and publish queries. An encoder reconnecting with the same
// URL from the same address presents the same identity (so it may replace its own frozen
// session); anyone else does not.
func (c *Client) PublishIdentity(query string) string {
	return c.info.IP + "\x00" + c.info.Query + "\x00" + query
}

// streamAsk says which verdict is asked: the handler, its refusal code, and whether it writes
// (publish: writeAccess) or reads (play: readAccess).
type streamAsk struct {
	handler, failCode string
	write             bool
}

func (c *Client) streamEvent(ask streamAsk, st StreamRef, verdict func(bool, *amf.Object)) {
	inst := c.inst
	err := inst.loop.Post(func(*goja.Runtime) error {
		ok, info, err := inst.streamVerdict(c, ask, st)
		verdict(ok, info)
		return err
	})
	if err != nil {
		verdict(false, status("error", ask.failCode, "application not running"))
	}
}

// streamVerdict runs onPublish / onPlay: false (or a returned object) rejects, a throw rejects
// with the thrown object as info when it is a plain object. It is the one place where direct
// and edge sessions get their publish and play verdicts, so the access lists are checked here,
// on the loop, after whatever onConnect or an earlier call assigned to them.
func (inst *instance) streamVerdict(c *Client, ask streamAsk, st StreamRef) (bool, *amf.Object, error) {
	handler, failCode := ask.handler, ask.failCode
	g := inst.gen
	if g == nil || c.state != stateAccepted {
		return false, status("error", failCode, "connection not accepted"), nil
	}
	if !c.mayAccess(st.Name, ask.write) {
		list := "readAccess"
		if ask.write {
			list = "writeAccess"
		}
		if st.Record {
			failCode = "NetStream.Record.NoAccess"
		}
		return false, status("error", failCode, "no access to stream "+st.Name+": not in the client's "+list), nil
	}
	jc := g.objIn(c)
	stream := g.app.Stream(jc, st.Name, st.Query)
	if ask.write {
		_ = stream.Set("takeover", st.Takeover)
		_ = stream.Set("acceptTakeover", false)
	}
	v, _, err := g.app.CallHandler(handler, jc.Obj, stream)
	if err != nil {
		return false, inst.thrownInfo(g, err, failCode), err
	}
	switch x := v.Export().(type) {
	case bool:
		if !x {
			return false, status("error", failCode, handler+" refused "+st.Name), nil
		}
	case map[string]any:
		if o, ok := asObject(g.app, v); ok {
			return false, o, nil
		}
	}
	if st.Takeover && !stream.Get("acceptTakeover").ToBoolean() {
		inst.unpublished(g, jc, stream, st.Name)
		return false, status("error", failCode, st.Name+" is already being published (its silent publisher is someone else, and onPublish did not accept a takeover)"), nil
	}
	return true, nil, nil
}

// thrownInfo uses a thrown plain object as the status (the app chose to tell the client), else
// a failCode status with a generic description (the error's text while allowDebug is true).
func (inst *instance) thrownInfo(g *generation, err error, failCode string) *amf.Object {
	var ex *goja.Exception
	if errors.As(err, &ex) && ex.Value() != nil {
		if o, ok := asObject(g.app, ex.Value()); ok {
			return o
		}
	}
	return status("error", failCode, g.errorText(err, genericError))
}

// asObject converts a plain (non-Error) JS object to an AMF object.
func asObject(app *jsapi.App, v goja.Value) (*amf.Object, bool) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Error" {
		return nil, false
	}
	out, err := app.Conv.FromJS(v)
	o, isObj := out.(*amf.Object)
	return o, err == nil && isObj
}
