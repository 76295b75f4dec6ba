package origin

import (
	"net"
	"sync"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/origin/session"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/rs/zerolog"
)

// direct is a client connected to the origin itself: the RTMP connection is its transport
// (session.Transport) and its reader runs the client's session. Everything FMS-specific is the
// session's; direct only writes to the connection and feeds the hub with the client's media.
type direct struct {
	srv  *Server
	conn *rtmpconn.Conn
	core *session.Session

	soOnce sync.Once
	so     *soSubscriber
}

var _ session.Transport = (*direct)(nil)

func newDirect(s *Server) *direct {
	d := &direct{srv: s}
	d.core = session.New(s.sessionEnv, d)
	return d
}

// HandleCommand implements rtmpconn.Handler.
func (d *direct) HandleCommand(c *rtmpconn.Conn, streamID uint32, cmd *rtmpmsg.Command) error {
	if h := d.srv.cfg.clientHooks; h != nil && h.command != nil {
		h.command(cmd.Name)
	}
	if cmd.Name == "connect" && !d.core.Connected() {
		d.core.SetBase(session.Base{IP: remoteIP(c.RemoteAddr()), Protocol: "rtmp"})
	}
	err := d.core.Command(streamID, cmd)
	if cmd.Name == "connect" && d.core.Connected() {
		t := d.core.Target()
		c.SetLogApp(t.App, t.Instance)
	}
	return err
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return ""
}

// HandleMedia implements rtmpconn.Handler: a publisher's audio/video goes to the hub, shared by
// every player from here on.
func (d *direct) HandleMedia(_ *rtmpconn.Conn, streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	if pub := d.core.Publication(streamID); pub != nil && len(payload) > 0 {
		pub.Write(media.NewPacket(typeID, ts, payload))
	}
	return nil
}

// HandleData implements rtmpconn.Handler.
func (d *direct) HandleData(_ *rtmpconn.Conn, streamID uint32, ts uint32, m *rtmpmsg.Data) error {
	d.core.Data(streamID, ts, m)
	return nil
}

// HandleSharedObject implements rtmpconn.Handler.
func (d *direct) HandleSharedObject(_ *rtmpconn.Conn, msg *rtmpmsg.SharedObjectMessage, amf3 bool) error {
	return d.core.SharedObject(msg, amf3)
}

// Closed implements rtmpconn.Handler.
func (d *direct) Closed(*rtmpconn.Conn, error) { d.core.Close() }

func (d *direct) ID() string            { return d.conn.ID() }
func (d *direct) Log() *zerolog.Logger  { return d.conn.Log() }
func (d *direct) Done() <-chan struct{} { return d.conn.Context().Done() }
func (d *direct) Kill(reason error)     { d.conn.Close(reason) }
func (d *direct) Stats() scripting.ClientStats {
	st := &d.conn.Stats
	return scripting.ClientStats{BytesIn: st.BytesIn.Load(), BytesOut: st.BytesOut.Load(), MsgIn: st.MsgIn.Load(),
		MsgOut: st.MsgOut.Load(), PingRTTMs: float64(st.LastPingRTT.Load()) / 1e6}
}

func (d *direct) SendCommand(streamID uint32, name string, txn float64, args ...any) error {
	return d.conn.SendCommand(streamID, name, txn, nil, args...)
}

// Held implements session.Transport (rtmpconn.Conn.Corked).
func (d *direct) Held(fn func()) { d.conn.Corked(fn) }

// AcceptConnect writes the answer and onBWDone in one write, corked and uncorked on the calling
// goroutine (the app's loop).
func (d *direct) AcceptConnect(txn float64, info *amf.Object, amf3, sendBWDone bool) {
	d.conn.Corked(func() {
		if d.conn.SendConnectAccept(txn, info) != nil {
			return
		}
		if amf3 {
			d.conn.SetObjectEncoding(3)
		}
		if sendBWDone { // FMS calls onBWDone after connect; AS3 players without it log #2095
			_ = d.conn.SendCommand(0, "onBWDone", 0, nil)
		}
	})
}

func (d *direct) RejectConnect(txn float64, info *amf.Object) {
	_ = d.conn.SendConnectReject(txn, info)
}

func (d *direct) CloseWithStatus(info *amf.Object) {
	_ = d.conn.SendStatus(0, info)
	_ = d.conn.CloseAfterFlush()
}

func (d *direct) StreamStatus(streamID uint32, info *amf.Object) error {
	return d.conn.SendStatus(streamID, info)
}

// SharedObjectSink implements session.Transport; one subscriber serves the client's registry.
func (d *direct) SharedObjectSink(reg *sharedobject.Registry) sharedobject.Subscriber {
	d.soOnce.Do(func() { d.so = &soSubscriber{conn: d.conn, reg: reg} })
	return d.so
}

func (d *direct) PublishStarted(streamID uint32, _ string, _ *live.Publication, status *amf.Object) error {
	if err := d.conn.SendUserControl(rtmpmsg.EventStreamBegin, streamID); err != nil {
		return err
	}
	return d.conn.SendStatus(streamID, status)
}

func (d *direct) PublishStopped(streamID uint32, status *amf.Object) {
	if status != nil {
		_ = d.conn.SendStatus(streamID, status)
	}
}

// soSubscriber is a connection's side of its shared-object subscriptions: the registry hands it
// updates with its lock held, and it queues each on the connection (never blocking; a client too
// slow to take them is closed by the connection's outbound limit).
type soSubscriber struct {
	conn *rtmpconn.Conn
	reg  *sharedobject.Registry
}

var _ sharedobject.Subscriber = (*soSubscriber)(nil)

// Send writes msg in the encoding the client used: type 16 after an AMF3 request, else 19.
func (s *soSubscriber) Send(msg *rtmpmsg.SharedObjectMessage, amf3 bool) {
	typeID := uint8(rtmpmsg.TypeSharedObjectAMF0)
	if amf3 {
		typeID = rtmpmsg.TypeSharedObjectAMF3
	}
	_ = s.conn.SendMessage(0, typeID, 0, s.reg.Encoded(msg, amf3))
}
