package session

import (
	"context"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/scripting"
)

// The session core is where plug-in modules apply (core/plugin): auth before the app's own
// handler, events after each outcome, for every transport alike. Without modules (a nil
// Env.Plugins, or one without auth or events modules) none of this builds anything.

// request is the plug-in view of the client asking for act, from what the session knows.
func (s *Session) request(act plugin.Action, t Target, info *scripting.ClientInfo) *plugin.Request {
	r := &plugin.Request{Action: act, App: t.App, Instance: t.Instance, ClientID: s.t.ID(),
		IP: info.IP, Protocol: info.Protocol, Agent: info.Agent, Referrer: info.Referrer,
		PageURL: info.PageURL, TcURL: info.URI, ConnectQuery: info.Query}
	if info.Edge != nil {
		r.Edge = info.Edge.ID
	}
	return r
}

// streamRequest is the plug-in view of a stream action of a connected client.
func (s *Session) streamRequest(act plugin.Action, name, query string) *plugin.Request {
	r := s.request(act, s.target, &s.app.info)
	r.Stream, r.StreamQuery = name, query
	return r
}

// authorize asks the auth modules; ok is false when they refused, with the reason to tell the
// client. Its wait is bounded by the modules' budgets (a client that leaves meanwhile is
// answered by nobody; the modules' own wait ends at its budget).
func (s *Session) authorize(req *plugin.Request) (plugin.Decision, bool) {
	d := s.env.Plugins.Authorize(context.Background(), req)
	return d, d.Verdict == plugin.Accept
}

// authorizeConnect applies the auth modules to a connect; false when they refused it (the
// refusal is answered). The access lists they set become the client's initial ones.
func (s *Session) authorizeConnect(txn float64, t Target, app *appSide) bool {
	if !s.env.Plugins.HasAuth() {
		return true
	}
	req := s.request(plugin.ActConnect, t, &app.info)
	req.ReadAccess, req.WriteAccess = "/", "/"
	d, ok := s.authorize(req)
	if !ok {
		if d.Verdict == plugin.Redirect {
			s.redirect(txn, d)
		} else {
			s.reject(txn, "NetConnection.Connect.Rejected", d.Reason)
		}
		s.emitConnect(t, &app.info, "NetConnection.Connect.Rejected", d.Reason)
		return false
	}
	if req.ReadAccess != "/" {
		app.info.ReadAccess = &req.ReadAccess
	}
	if req.WriteAccess != "/" {
		app.info.WriteAccess = &req.WriteAccess
	}
	return true
}

// redirect rejects a connect the FMS way of a redirect: ex.code 302 and ex.redirect.
func (s *Session) redirect(txn float64, d plugin.Decision) {
	ex := &amf.Object{Props: []amf.Prop{{Key: "code", Value: float64(302)}, {Key: "redirect", Value: d.RedirectURL}}}
	s.t.Log().Info().Str("redirect", d.RedirectURL).Msg("connect redirected")
	s.t.RejectConnect(txn, rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", d.Reason, amf.Prop{Key: "ex", Value: ex}))
}

// authorizeStream applies the auth modules to a publish, play or seek of name; the name they
// leave (a module may rewrite it) is returned, or ok false with the reason.
func (s *Session) authorizeStream(act plugin.Action, name, query, publishType string) (newName, reason string, ok bool) {
	if !s.env.Plugins.HasAuth() {
		return name, "", true
	}
	req := s.streamRequest(act, name, query)
	req.PublishType = publishType
	d, ok := s.authorize(req)
	if !ok {
		return name, d.Reason, false
	}
	if req.Stream == "" {
		return name, "", true
	}
	return req.Stream, "", true
}

// authorizeSharedObject applies the auth modules to a client's first use of an object.
func (s *Session) authorizeSharedObject(name string, persistent bool) (string, bool) {
	if !s.env.Plugins.HasAuth() {
		return "", true
	}
	req := s.request(plugin.ActSharedObject, s.target, &s.app.info)
	req.SharedObject, req.Persistent = name, persistent
	d, ok := s.authorize(req)
	return d.Reason, ok
}

// event is the plug-in view of something that happened to this session.
func (s *Session) event(kind plugin.EventKind, t Target, info *scripting.ClientInfo) plugin.Event {
	ev := plugin.Event{Kind: kind, App: t.App, Instance: t.Instance, ClientID: s.t.ID(),
		IP: info.IP, Protocol: info.Protocol, Agent: info.Agent, Referrer: info.Referrer, PageURL: info.PageURL}
	if info.Edge != nil {
		ev.Edge = info.Edge.ID
	}
	return ev
}

// emitConnect tells the events modules how a connect was answered.
func (s *Session) emitConnect(t Target, info *scripting.ClientInfo, status, reason string) {
	if !s.env.Plugins.HasEvents() {
		return
	}
	ev := s.event(plugin.EvConnect, t, info)
	ev.Status, ev.Reason = status, reason
	s.env.Plugins.Emit(ev)
}

// emitStream tells the events modules about a stream of this session starting or ending (with
// its bytes when it ends and the transport counts them).
func (s *Session) emitStream(kind plugin.EventKind, name, status string, since time.Time, bytesIn, bytesOut uint64) {
	if !s.env.Plugins.HasEvents() || s.app == nil {
		return
	}
	ev := s.event(kind, s.target, &s.app.info)
	ev.Stream, ev.Status = name, status
	ev.BytesIn, ev.BytesOut = bytesIn, bytesOut
	if !since.IsZero() {
		ev.Duration = time.Since(since)
	}
	s.env.Plugins.Emit(ev)
}

// emitDisconnect tells the events modules that a connected session ended, with its bytes.
func (s *Session) emitDisconnect() {
	if !s.env.Plugins.HasEvents() || !s.connected {
		return
	}
	ev := s.event(plugin.EvDisconnect, s.target, &s.app.info)
	st := s.t.Stats()
	ev.BytesIn, ev.BytesOut = st.BytesIn, st.BytesOut
	ev.Duration = time.Since(s.connectedAt)
	s.env.Plugins.Emit(ev)
}

// bytesOut is what a play delivered, when its transport counts it (a direct client's does; an
// edge client's media is counted by its edge).
func bytesOut(p Play) uint64 {
	if c, ok := p.(interface{ BytesOut() uint64 }); ok {
		return c.BytesOut()
	}
	return 0
}
