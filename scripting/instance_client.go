package scripting

import (
	"errors"
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

type clientState int

const (
	statePending clientState = iota
	stateAccepted
	stateClosed
)

// Client is the origin's handle on one connection to an app instance. Its methods may be called
// from any goroutine: they post to the instance loop and never block.
type Client struct {
	inst        *instance
	sess        Session
	info        ClientInfo
	connectedAt time.Time
	accessLists // readAccess / writeAccess, read by the shared-object access hook

	// Owned by the instance loop.
	state    clientState
	timer    *time.Timer // pending-connect timeout
	askedGen *generation // the generation whose onConnect last saw this client pending
}

func (c *Client) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// props is what the script's Client object shows.
func (c *Client) props() jsapi.ClientProps {
	i := c.info
	p := jsapi.ClientProps{ID: c.sess.ID(), IP: i.IP, Agent: i.Agent, Referrer: i.Referrer, PageURL: i.PageURL,
		Protocol: i.Protocol, URI: i.URI, Query: i.Query}
	if i.Edge != nil {
		p.HasEdge, p.EdgeID, p.EdgeAddress = true, i.Edge.ID, i.Edge.Address
	}
	return p
}

// objIn returns the client's object in generation g, making it on first use.
func (g *generation) objIn(c *Client) *jsapi.Client {
	jc := g.objs[c]
	if jc == nil {
		jc = g.app.NewClient(c, c.props())
		g.defineAccess(jc.Obj)
		g.objs[c] = jc
	}
	return jc
}

// connectArgs converts the extra connect arguments for g's runtime.
func (g *generation) connectArgs(jc *jsapi.Client, c *Client) []goja.Value {
	args := []goja.Value{jc.Obj}
	for _, a := range c.info.ConnectArgs {
		args = append(args, g.app.Conv.ToJS(a))
	}
	return args
}

// connect is the loop side of Engine.Connect.
func (inst *instance) connect(c *Client) {
	inst.e.release(inst)
	switch {
	case inst.unloaded:
		c.sess.Close("AppShutdown", "application stopped")
		return
	case inst.gen == nil:
		desc := fmt.Sprintf("application %s failed to load: %v", inst.appName, inst.loadErr)
		inst.log.Warn().Str("client", c.sess.ID()).Msg("connection rejected: application failed to load")
		c.sess.Reject(status("error", "NetConnection.Connect.Rejected", desc))
		inst.checkIdle()
		return
	case inst.maxReached():
		c.sess.Reject(status("error", "NetConnection.Connect.Rejected", "too many clients"))
		return
	}
	inst.connects++
	inst.idleSeq++
	inst.clients = append(inst.clients, c)
	inst.soAccess.add(c)
	defer inst.boundPending(c) // also if onConnect's job panics
	inst.ask(c)
}

// boundPending arms the pending-connect timeout of a client that onConnect left undecided: a
// client accepted or rejected at once (most are) never makes a timer.
func (inst *instance) boundPending(c *Client) {
	if c.state != statePending || c.timer != nil {
		return
	}
	c.timer = time.AfterFunc(inst.app.Config.PendingConnectTimeout(), func() {
		_ = inst.loop.Post(func(*goja.Runtime) error { inst.pendingTimeout(c); return nil })
	})
}

func (inst *instance) maxReached() bool {
	limit := inst.app.Config.MaxClients
	return limit > 0 && len(inst.clients) >= limit
}

func (inst *instance) pendingTimeout(c *Client) {
	if c.state == statePending {
		inst.log.Warn().Str("client", c.sess.ID()).Msg("connection rejected: no decision in time")
		inst.finishReject(c, status("error", "NetConnection.Connect.Rejected", "no decision in time"), nil)
	}
}

// ask runs onConnect for a pending client in the current generation.
func (inst *instance) ask(c *Client) {
	g := inst.gen
	c.askedGen = g
	jc := g.objIn(c)
	fn, ok := g.app.Handler("onConnect")
	if !ok {
		inst.decide(c, jsapi.Decision{Kind: jsapi.Accept})
		return
	}
	v, err := fn(g.app.Application, g.connectArgs(jc, c)...)
	if err != nil {
		inst.log.Error().Str("client", c.sess.ID()).Str("err", jsloop.FormatError(err)).Msg("onConnect threw; connection rejected")
		if c.state == statePending {
			desc := "application error"
			if g.app.AllowDebug() {
				desc += ": " + firstLine(err)
			}
			inst.finishReject(c, status("error", "NetConnection.Connect.Rejected", desc), nil)
		}
		return
	}
	if b, isBool := v.Export().(bool); isBool && c.state == statePending {
		kind := jsapi.Reject
		if b {
			kind = jsapi.Accept
		}
		inst.decide(c, jsapi.Decision{Kind: kind})
	}
}

// decide applies the first verdict on a pending client; later ones are ignored.
func (inst *instance) decide(c *Client, d jsapi.Decision) {
	if c.state != statePending || inst.gen == nil {
		return
	}
	switch d.Kind {
	case jsapi.Accept:
		c.state = stateAccepted
		inst.served = true
		c.stopTimer()
		g := inst.gen
		jc := g.objIn(c)
		g.app.AddClient(jc)
		inst.afterVerdict(c, "onConnectAccept") // queued before the client can see the verdict and call
		c.sess.Accept(inst.rules.Load().SendBWDone)
	case jsapi.Reject:
		st := status("error", "NetConnection.Connect.Rejected", "connection rejected by the application")
		inst.finishReject(c, st, d.Info)
	case jsapi.Redirect:
		desc := d.Description
		if desc == "" {
			desc = "connection redirected"
		}
		st := status("error", "NetConnection.Connect.Rejected", desc)
		st.Set("ex", &amf.Object{Props: []amf.Prop{{Key: "code", Value: 302.0}, {Key: "redirect", Value: d.URL}}})
		inst.finishReject(c, st, d.Info)
	}
}

// finishReject sends the rejection (info, if any, as "application") and forgets the client.
func (inst *instance) finishReject(c *Client, st *amf.Object, info any) {
	if info != nil {
		st.Set("application", info)
	}
	c.state = stateClosed
	c.stopTimer()
	inst.afterVerdict(c, "onConnectReject")
	c.sess.Reject(st)
	inst.remove(c)
}

// afterVerdict runs onConnectAccept / onConnectReject as the next job, after the verdict.
func (inst *instance) afterVerdict(c *Client, handler string) {
	g := inst.gen
	if g == nil {
		return
	}
	jc := g.objIn(c)
	_ = inst.loop.Post(func(*goja.Runtime) error {
		if inst.gen != g {
			return nil
		}
		_, _, err := g.app.CallHandler(handler, g.connectArgs(jc, c)...)
		return err
	})
}

// remove forgets a client that is gone or rejected.
func (inst *instance) remove(c *Client) {
	for i, x := range inst.clients {
		if x == c {
			inst.clients = append(inst.clients[:i], inst.clients[i+1:]...)
			break
		}
	}
	inst.soAccess.remove(c)
	if g := inst.gen; g != nil {
		if jc := g.objs[c]; jc != nil {
			g.app.RemoveClient(jc)
			delete(g.objs, c)
		}
	}
	for r := range inst.rpcs {
		if r.c == c {
			delete(inst.rpcs, r)
		}
	}
	inst.checkIdle()
}

// kick is application.disconnect(client): the connection is closed and onDisconnect runs now.
func (inst *instance) kick(c *Client) {
	if c.state == stateAccepted {
		c.sess.Close("Closed", "disconnected by the application")
	}
	inst.gone(c)
}

// gone handles a connection that ended: onDisconnect when it was accepted.
func (inst *instance) gone(c *Client) {
	was := c.state
	c.state = stateClosed
	c.stopTimer()
	g := inst.gen
	if was == stateAccepted {
		inst.leaves++
		if g != nil {
			if jc := g.objs[c]; jc != nil {
				g.app.RemoveClient(jc)
				if _, _, err := g.app.CallHandler("onDisconnect", jc.Obj); err != nil {
					inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("onDisconnect threw")
				}
			}
		}
	}
	if was != stateClosed {
		inst.remove(c)
	}
}

// Disconnect tells the app that the connection is gone (onDisconnect if it was accepted).
func (c *Client) Disconnect() {
	inst := c.inst
	inst.post(func() { inst.gone(c) })
}

func firstLine(err error) string {
	var je *jsloop.JSError
	if errors.As(err, &je) {
		return je.Message
	}
	return err.Error()
}
