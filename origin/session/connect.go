package session

import (
	"errors"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// ServerVersion is reported in the connect answer's data.version, FMS style.
const ServerVersion = "3,5,7,7009"

// MaxVerdictWait bounds how long a connect waits for its app's verdict, beyond the app's own
// pendingConnectTimeoutMs (which the engine enforces): a safety net, never the normal path.
const MaxVerdictWait = 10 * time.Minute

// Base is what a transport knows of its client before connect: its address and protocol, and
// for an edge client the edge. Agent, Referrer and PageURL default to the connect object's
// flashVer, swfUrl and pageUrl.
type Base struct {
	IP, Protocol             string
	Agent, Referrer, PageURL string
	Edge                     *scripting.EdgeInfo
}

// onConnect routes the client to its app instance (whose JS loop, shared objects and live hub
// share one lifetime: scripting's instance) and waits for the app's verdict on this
// goroutine, so that everything the session owns stays here. An unknown app gets FMS's exact
// rejection text; a malformed name gets InvalidApp. The answer always goes out before any close
// (OBS hangs otherwise).
func (s *Session) onConnect(cmd *rtmpmsg.Command) error {
	obj, _ := cmd.Object.(*amf.Object)
	if obj == nil {
		obj = &amf.Object{}
	}
	t, err := ParseConnectTarget(obj.String("app"), obj.String("tcUrl"))
	if err != nil {
		s.reject(cmd.TxnID, "NetConnection.Connect.InvalidApp", "Invalid application name ("+obj.String("app")+").")
		return nil
	}
	app := newAppSide(s.t, cmd.TxnID, obj, cmd.Args, t, s.base)
	if !s.authorizeConnect(cmd.TxnID, t, app) {
		return nil
	}
	js, err := s.env.Engine.Connect(t.App, t.Instance, app)
	if errors.Is(err, scripting.ErrNoApp) {
		s.rejectConnect(cmd.TxnID, t, app, "[ Server.Reject ] : (_defaultRoot_, _defaultVHost_) : Application ("+t.App+") is not defined.")
		return nil
	}
	if err != nil {
		s.rejectConnect(cmd.TxnID, t, app, err.Error())
		return nil
	}
	if !s.awaitVerdict(app, js, cmd.TxnID) {
		js.Disconnect()
		s.emitConnect(t, &app.info, "NetConnection.Connect.Rejected", "")
		return nil // the rejection is queued: the transport closes once it is written
	}
	s.connected, s.target, s.hub, s.js, s.app = true, t, js.Hub(), js, app
	s.connectedAt = time.Now()
	s.emitConnect(t, &app.info, "NetConnection.Connect.Success", "")
	s.t.Log().Info().Str("app", t.App).Str("instance", t.Instance).Str("agent", app.info.Agent).
		Int("object_encoding", app.info.ObjectEncoding).Msg("connected")
	return nil
}

// SetBase records what the transport knows of the client, for the app's Client object.
func (s *Session) SetBase(b Base) { s.base = b }

// awaitVerdict waits for the app's decision on connect: the app's loop sends the answer itself
// (appSide.Accept) and tells this goroutine. An instance that stops before deciding (it was
// shutting down as the client arrived) rejects the client, as does MaxVerdictWait, unless a
// verdict is being delivered at that moment.
func (s *Session) awaitVerdict(app *appSide, js *scripting.Client, txn float64) bool {
	timeout := time.NewTimer(MaxVerdictWait)
	defer timeout.Stop()
	var why string
	select {
	case ok := <-app.verdict:
		return ok
	case <-s.t.Done():
		return false
	case <-js.Gone():
		why = "The application instance stopped before it decided."
	case <-timeout.C:
		why = "no decision in time"
	}
	if app.decided.CompareAndSwap(false, true) {
		s.reject(txn, "NetConnection.Connect.Rejected", why)
		return false
	}
	return <-app.verdict // decided just now: its answer is queued
}

// rejectConnect refuses a connect the app never saw, and tells the events modules.
func (s *Session) rejectConnect(txn float64, t Target, app *appSide, desc string) {
	s.reject(txn, "NetConnection.Connect.Rejected", desc)
	s.emitConnect(t, &app.info, "NetConnection.Connect.Rejected", desc)
}

func (s *Session) reject(txn float64, code, desc string) {
	s.t.Log().Info().Str("code", code).Str("description", desc).Msg("connect rejected")
	s.t.RejectConnect(txn, rtmpconn.StatusInfo("error", code, desc))
}

// connectAccepted is the answer every accepted client gets, in its object encoding.
func connectAccepted(enc int) *amf.Object {
	return rtmpconn.StatusInfo("status", "NetConnection.Connect.Success", "Connection succeeded.",
		amf.Prop{Key: "objectEncoding", Value: float64(enc)},
		amf.Prop{Key: "data", Value: &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "version", Value: ServerVersion}}}})
}
