package edge

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// onFrame relays what the origin sends for this session, on the session's goroutine.
func (cs *clientSession) onFrame(f trunk.Frame) {
	if h := cs.srv.cfg.hooks; h != nil && h.sessionFrame != nil {
		h.sessionFrame(f)
	}
	switch f.Kind {
	case trunk.KindSessionVerdict:
		v, err := trunk.DecodeSessionVerdict(f.Body)
		if err != nil {
			_ = cs.st.mux.Close(cs.id, trunk.CodeProtocol, err.Error())
			return
		}
		cs.onVerdict(v)
	case trunk.KindStreamVerdict:
		v, err := trunk.DecodeStreamVerdict(f.Body)
		if err != nil {
			_ = cs.st.mux.Close(cs.id, trunk.CodeProtocol, err.Error())
			return
		}
		if cs.accept.Load() {
			cs.onStreamVerdict(v)
		}
	case trunk.KindSessionMessage:
		m, err := trunk.DecodeSessionMessage(f.Body)
		if err != nil {
			_ = cs.st.mux.Close(cs.id, trunk.CodeProtocol, err.Error())
			return
		}
		if cs.accept.Load() {
			cs.relay(m)
		}
	case trunk.KindError:
		if e, err := trunk.DecodeError(f.Body); err == nil {
			cs.conn.Log().Debug().Uint16("code", e.Code).Str("message", e.Message).Msg("origin reported an error on the session")
		}
	}
}

// onVerdict answers connect exactly like the origin does for a direct client: the answer and
// onBWDone in one write, made here (no writer goroutine).
func (cs *clientSession) onVerdict(v trunk.SessionVerdict) {
	if !cs.decided.CompareAndSwap(false, true) {
		return
	}
	var ok bool
	cs.conn.Corked(func() { ok = cs.answerConnect(v) })
	cs.verdict <- ok
}

// answerConnect writes the connect answer of a verdict; true when accepted.
func (cs *clientSession) answerConnect(v trunk.SessionVerdict) bool {
	info := cs.decodeInfo(v.Info)
	if v.Status != trunk.VerdictAccept {
		if info == nil {
			info = rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Connection rejected.")
		}
		_ = cs.conn.SendConnectReject(cs.txn, info)
		return false
	}
	if info == nil {
		info = rtmpconn.StatusInfo("status", "NetConnection.Connect.Success", "Connection succeeded.")
	}
	_ = cs.conn.SendConnectAccept(cs.txn, info)
	if cs.enc == 3 {
		cs.conn.SetObjectEncoding(3)
	}
	if v.Flags&trunk.VerdictNoBWDone == 0 { // the app's sendBWDone
		_ = cs.conn.SendCommand(0, "onBWDone", 0, nil)
	}
	cs.accept.Store(true)
	return true
}

func (cs *clientSession) decodeInfo(b []byte) *amf.Object {
	if len(b) == 0 {
		return nil
	}
	cs.rdec.Reset(b)
	v, _ := cs.rdec.DecodeAMF0()
	o, _ := v.(*amf.Object)
	cs.rdec.Reset(nil) // the decoder's tables would keep the object and b alive
	return o
}

// relay writes a command or shared-object message to the client as the origin encoded it: it
// used this client's object encoding (commands) or the type the client used (shared objects), so
// the bytes are what the edge would produce, and decoding only to re-encode cost a tenth of the
// edge's CPU per relayed call. A data message is re-sent as AMF0 data, the only kind rtmpconn
// sends. Corked, it is written here, on the session's own goroutine, instead of waking the
// connection's writer for each answer. A recorded play's messages are its media (recorded.go).
func (cs *clientSession) relay(m trunk.SessionMessage) {
	if cs.relayRecorded(m.Type, m.StreamID, m.Timestamp, m.Payload) {
		return
	}
	switch m.Type {
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3, rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		// The payload is handed over to the connection's queue: a copy of our own, whatever the
		// frame's body aliases.
		p := append([]byte(nil), m.Payload...)
		cs.conn.Corked(func() { _ = cs.conn.SendMessage(m.StreamID, m.Type, 0, p) })
	case rtmpmsg.TypeDataAMF0, rtmpmsg.TypeDataAMF3:
		defer cs.rdec.Reset(nil) // drop the decoded message: a quiet session would keep it alive
		if d, err := rtmpmsg.DecodeData(m.Type, m.Payload, &cs.rdec); err == nil {
			_ = cs.conn.SendData(m.StreamID, d.Name, d.Args...)
		}
	}
}

// onClose ends the client when the origin ends the session or the trunk is lost. An app's
// own close already told the client why; otherwise the client gets NetConnection.Connect.Closed.
func (cs *clientSession) onClose(m trunk.SessionClose) {
	if cs.decided.CompareAndSwap(false, true) {
		info := rtmpconn.StatusInfo("error", "NetConnection.Connect.Failed", "The origin ended the session: "+m.Reason)
		_ = cs.conn.SendConnectReject(cs.txn, info)
		cs.verdict <- false
		return
	}
	if !cs.accept.Load() || m.Code == trunk.CodeClientGone {
		return
	}
	if m.Code != trunk.CodeNormal {
		_ = cs.conn.SendStatus(0, rtmpconn.StatusInfo("status", "NetConnection.Connect.Closed", "Connection closed: "+m.Reason))
	}
	_ = cs.conn.CloseAfterFlush()
}
