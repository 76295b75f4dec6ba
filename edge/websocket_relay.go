package edge

import (
	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

// onTrunkFrame turns what the origin sends for this session into the client's messages, on the
// trunk session's goroutine, in order.
func (c *wsClient) onTrunkFrame(f trunk.Frame) {
	switch f.Kind {
	case trunk.KindSessionVerdict:
		v, err := trunk.DecodeSessionVerdict(f.Body)
		if err != nil {
			_ = c.st.mux.Close(c.id, trunk.CodeProtocol, err.Error())
			return
		}
		c.onVerdict(v)
	case trunk.KindSessionMessage:
		m, err := trunk.DecodeSessionMessage(f.Body)
		if err != nil {
			_ = c.st.mux.Close(c.id, trunk.CodeProtocol, err.Error())
			return
		}
		if c.accept.Load() {
			c.relay(m)
		}
	case trunk.KindError:
		if e, err := trunk.DecodeError(f.Body); err == nil {
			c.log.Debug().Uint16("code", e.Code).Str("message", e.Message).Msg("origin reported an error on the session")
		}
	}
}

// onVerdict answers connect as the origin decided: connected{info}, or rejected{info} then the
// close.
func (c *wsClient) onVerdict(v trunk.SessionVerdict) {
	info := c.decodeInfo(v.Info)
	if v.Status != trunk.VerdictAccept {
		if info == nil {
			info = rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Connection rejected.")
		}
		if c.reject(info) {
			c.verdict <- false
		}
		return
	}
	if !c.decided.CompareAndSwap(false, true) {
		return
	}
	if info == nil {
		info = rtmpconn.StatusInfo("status", "NetConnection.Connect.Success", "Connection succeeded.")
	}
	_ = c.send(&wsmsg.Message{Type: wsmsg.TypeConnected, Info: info})
	c.accept.Store(true)
	c.verdict <- true
}

func (c *wsClient) decodeInfo(b []byte) *amf.Object {
	if len(b) == 0 {
		return nil
	}
	defer c.rdec.Reset(nil) // the decoder's tables would keep the object and b alive
	c.rdec.Reset(b)
	v, _ := c.rdec.DecodeAMF0()
	o, _ := v.(*amf.Object)
	return o
}

// relay translates a command or shared-object message of the origin's (encoded for an AMF3
// client: the connect said objectEncoding 3, the requests were type 16). Data messages, which
// only streams carry, are not the client's.
func (c *wsClient) relay(m trunk.SessionMessage) {
	switch m.Type {
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		cmd, err := rtmpmsg.DecodeCommand(m.Type, m.Payload, &c.rdec)
		c.rdec.Reset(nil)
		if err != nil {
			c.log.Warn().Err(err).Msg("undecodable command from the origin dropped")
			return
		}
		msg := wsmsg.FromCommand(m.StreamID, cmd.Name, cmd.TxnID, cmd.Args)
		_ = c.send(&msg)
	case rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		// Ours: the frame's body may be reused, and the writer decodes the message later.
		so, err := rtmpmsg.DecodeSharedObject(m.Type, append([]byte(nil), m.Payload...))
		if err != nil {
			c.log.Warn().Err(err).Msg("undecodable shared-object message from the origin dropped")
			return
		}
		if c.conn.SendRendered(wsmsg.EstimateFrames(&so), func() ([][]byte, error) { return wsmsg.SharedObjectFrames(&so) }) != nil {
			_ = c.st.mux.Close(c.id, trunk.CodeOverflow, "client too slow")
		}
	}
}

// onTrunkClose ends the client when the origin ends the session or the trunk is lost. An app's
// own close already told the client why; otherwise it gets NetConnection.Connect.Closed.
func (c *wsClient) onTrunkClose(m trunk.SessionClose) {
	if c.reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Failed", "The origin ended the session: "+m.Reason)) {
		c.verdict <- false
		return
	}
	if !c.accept.Load() || m.Code == trunk.CodeClientGone {
		return
	}
	if m.Code != trunk.CodeNormal {
		_ = c.send(&wsmsg.Message{Type: wsmsg.TypeStatus, Info: rtmpconn.StatusInfo("status", "NetConnection.Connect.Closed", "Connection closed: "+m.Reason)})
	}
	c.conn.CloseAfterFlush(websocket.StatusNormalClosure, "closed")
}
