package origin

import (
	"context"
	"errors"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// serverVersion is reported in the connect answer's data.version, FMS style.
const serverVersion = "3,5,7,7009"

// onConnect routes the connection to its app instance and answers. An unknown app gets FMS's
// exact rejection text; a malformed name gets InvalidApp. The answer always goes out before any
// close (OBS hangs otherwise).
func (s *session) onConnect(_ uint32, cmd *rtmpmsg.Command) error {
	if s.connected {
		return s.onUnknownCommand(0, cmd)
	}
	obj, _ := cmd.Object.(*amf.Object)
	if obj == nil {
		obj = &amf.Object{}
	}
	enc, _ := obj.Number("objectEncoding")
	t, err := ParseConnectTarget(obj.String("app"), obj.String("tcUrl"))
	if err != nil {
		return s.rejectConnect(cmd.TxnID, "NetConnection.Connect.InvalidApp", "Invalid application name ("+obj.String("app")+").")
	}
	inst, err := s.srv.apps.acquire(t)
	if errors.Is(err, errUnknownApp) {
		desc := "[ Server.Reject ] : (_defaultRoot_, _defaultVHost_) : Application (" + t.App + ") is not defined."
		return s.rejectConnect(cmd.TxnID, "NetConnection.Connect.Rejected", desc)
	}
	if err != nil {
		return s.rejectConnect(cmd.TxnID, "NetConnection.Connect.Rejected", err.Error())
	}
	s.inst, s.target = inst, t
	s.conn.SetLogger(s.conn.Log().With().Str("app", t.App).Str("instance", t.Instance).Logger())
	jss := newJSSession(s, cmd.TxnID, enc, obj, cmd.Args, t)
	client, err := s.srv.engine.Connect(t.App, t.Instance, jss)
	if err != nil {
		return s.rejectConnect(cmd.TxnID, "NetConnection.Connect.Rejected", err.Error())
	}
	// The app decides, possibly much later (a pending connection); this connection's reader waits
	// for it, so that everything the session owns stays on this goroutine.
	ok, err := s.awaitVerdict(jss, cmd.TxnID)
	if !ok || err != nil {
		client.Disconnect()
		return err // nil after a rejection: it is queued, the connection closes once it is written
	}
	s.js, s.jss, s.connected = client, jss, true
	if client.SendBWDone() { // FMS calls onBWDone after connect; AS3 players without it log #2095
		err = s.conn.SendCommand(0, "onBWDone", 0, nil)
	}
	s.conn.Uncork() // Accept corked the answer (see jsSession.Accept)
	if err != nil {
		return err
	}
	s.conn.Log().Info().Str("agent", obj.String("flashVer")).Float64("object_encoding", enc).Msg("connected")
	return nil
}

// awaitVerdict waits for the app's decision on connect. Past maxVerdictWait the connection is
// rejected here, unless a verdict is being delivered at that moment.
func (s *session) awaitVerdict(jss *jsSession, txn float64) (bool, error) {
	timeout := time.NewTimer(maxVerdictWait)
	defer timeout.Stop()
	select {
	case ok := <-jss.verdict:
		return ok, nil
	case <-s.conn.Context().Done():
		return false, context.Cause(s.conn.Context())
	case <-timeout.C:
		if jss.decided.CompareAndSwap(false, true) {
			return false, s.rejectConnect(txn, "NetConnection.Connect.Rejected", "no decision in time")
		}
		return <-jss.verdict, nil // decided just now: its answer is queued
	}
}

// maxVerdictWait bounds how long a connection waits for its app's verdict, beyond the app's own
// pendingConnectTimeoutMs (which the engine enforces): a safety net, never the normal path.
const maxVerdictWait = 10 * time.Minute

func (s *session) acceptConnect(txn, enc float64) error {
	if enc != 3 {
		enc = 0
	}
	info := rtmpconn.StatusInfo("status", "NetConnection.Connect.Success", "Connection succeeded.",
		amf.Prop{Key: "objectEncoding", Value: enc},
		amf.Prop{Key: "data", Value: &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "version", Value: serverVersion}}}})
	if err := s.conn.SendConnectAccept(txn, info); err != nil {
		return err
	}
	if enc == 3 {
		s.conn.SetObjectEncoding(3)
	}
	return nil
}

func (s *session) rejectConnect(txn float64, code, desc string) error {
	s.conn.Log().Info().Str("code", code).Str("description", desc).Msg("connect rejected")
	info := rtmpconn.StatusInfo("error", code, desc)
	return s.conn.SendConnectReject(txn, info)
}
