package origin

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/vod"
	"github.com/fmsgo/fmsgo/core/wsconn"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/fmsgo/fmsgo/origin/session"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/rs/zerolog"
)

// wsClient is a browser connected to the origin over WebSocket (fmsgo.v1, docs/websocket.md):
// its transport (session.Transport) turns the session's commands and shared-object updates into
// JSON messages, and the client's messages into the commands and shared-object requests an RTMP
// client would send. Its reader goroutine (the web request's) runs the session; wsconn's writer
// writes. It has no media: publish and play are refused.
type wsClient struct {
	srv  *Server
	conn *wsconn.Conn
	core *session.Session
	id   string
	log  zerolog.Logger
	// connectObj is the connect command object the upgrade request stands for (app, tcUrl).
	connectObj *amf.Object
	base       session.Base
	tried      bool // the client's connect went to the session (reader goroutine only)

	soOnce sync.Once
	so     *wsSOSubscriber
}

var _ session.Transport = (*wsClient)(nil)

// errNoMedia refuses what needs a media transport.
var errNoMedia = errors.New("publish and play are not available over WebSocket: they need RTMP")

// serveWebSocketApp is GET /fms/APP[/INSTANCE][?query]: the upgrade to fmsgo.v1, then the client's
// whole life on this goroutine.
func (s *Server) serveWebSocketApp(w http.ResponseWriter, r *http.Request) {
	ws, req, err := wsconn.AcceptApp(w, r, wsmsg.Subprotocol, s.cfg.WebOrigins)
	if err != nil { // answered: 404 without an app, 403 for a foreign Origin, 426 for plain HTTP
		s.log.Debug().Err(err).Str("proto", "ws").Str("remote", r.RemoteAddr).Msg("WebSocket upgrade refused")
		return
	}
	newWSClient(s, ws, req).serve()
}

func newWSClient(s *Server, ws *websocket.Conn, req wsconn.Request) *wsClient {
	c := &wsClient{srv: s, id: s.conn.Load().Runtime.NewClientID(), connectObj: req.ConnectObject()}
	c.log = s.log.With().Str("proto", req.Protocol).Str("conn", c.id).Str("remote", req.RemoteAddr).Logger()
	c.base = session.Base{IP: req.IP, Protocol: req.Protocol, Agent: req.Agent, Referrer: req.Referrer, PageURL: req.PageURL}
	c.conn = wsconn.New(ws, s.cfg.Limits.Limits, &c.log)
	c.core = session.New(s.sessionEnv, c)
	return c
}

// serve runs the client until its connection ends, then ends its session.
func (c *wsClient) serve() {
	c.log.Debug().Msg("accepted")
	err := c.conn.Serve(c.onFrame)
	c.core.Close()
	ev := c.log.Info()
	if !wsconn.IsNormalClose(err) {
		ev = c.log.Info().Err(err)
	}
	st := &c.conn.Stats
	ev.Uint64("bytes_in", st.BytesIn.Load()).Uint64("bytes_out", st.BytesOut.Load()).Msg("closed")
}

// onFrame handles one message of the client, on the session's goroutine.
func (c *wsClient) onFrame(frame []byte) error {
	if c.tried && !c.core.Connected() {
		return nil // rejected: the answer and the close are on their way
	}
	m, err := wsmsg.Decode(frame, 0)
	if err != nil {
		return &wsconn.CloseError{Code: websocket.StatusInvalidFramePayloadData, Reason: err.Error(), Err: err}
	}
	if !c.tried && m.Type != wsmsg.TypeConnect {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: "connect first", Err: fmt.Errorf("%s before connect", m.Type)}
	}
	switch m.Type {
	case wsmsg.TypeConnect:
		return c.connect(&m)
	case wsmsg.TypeCall:
		return c.call(&m)
	case wsmsg.TypeResult, wsmsg.TypeError:
		return c.core.Command(0, wsmsg.ToCommand(&m))
	case wsmsg.TypePing:
		return c.send(&wsmsg.Message{Type: wsmsg.TypePong, ID: m.ID})
	}
	return c.sharedObject(&m)
}

// connect hands the client's connect to the session, which waits here for the app's verdict.
func (c *wsClient) connect(m *wsmsg.Message) error {
	if c.tried {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: "connected already", Err: errors.New("second connect")}
	}
	c.tried = true
	c.conn.ConnectStarted()
	c.core.SetBase(c.base)
	return c.core.Command(0, &rtmpmsg.Command{Name: "connect", TxnID: 1, Object: c.connectObj, Args: m.Args, AMF3: true})
}

// call hands a call to the app. The names the session answers itself (createStream, play,
// publish, ...) are refused: this transport carries no streams.
func (c *wsClient) call(m *wsmsg.Message) error {
	if !session.IsNetCommand(m.Method) && !wsmsg.IsStreamCommand(m.Method) {
		return c.core.Command(0, wsmsg.ToCommand(m))
	}
	if m.ID == 0 {
		return nil
	}
	info := rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", m.Method+": "+errNoMedia.Error())
	return c.send(&wsmsg.Message{Type: wsmsg.TypeError, ID: m.ID, Info: info})
}

// sharedObject hands a so.* request to the session as the shared-object message it stands for.
func (c *wsClient) sharedObject(m *wsmsg.Message) error {
	msg, err := wsmsg.SharedObjectRequest(m)
	if err == nil {
		err = c.core.SharedObject(msg, true)
	}
	if err != nil {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: err.Error(), Err: err}
	}
	return nil
}

// send queues one message (any goroutine).
func (c *wsClient) send(m *wsmsg.Message) error {
	b, err := wsmsg.Append(nil, m)
	if err != nil {
		c.log.Warn().Err(err).Str("type", string(m.Type)).Msg("message to a WebSocket client dropped: cannot encode it")
		return nil
	}
	return c.conn.Send(b)
}

func (c *wsClient) ID() string            { return c.id }
func (c *wsClient) Log() *zerolog.Logger  { return &c.log }
func (c *wsClient) Done() <-chan struct{} { return c.conn.Done() }

func (c *wsClient) Stats() scripting.ClientStats {
	st := &c.conn.Stats
	return scripting.ClientStats{BytesIn: st.BytesIn.Load(), BytesOut: st.BytesOut.Load(), MsgIn: st.MsgIn.Load(),
		MsgOut: st.MsgOut.Load(), PingRTTMs: float64(st.PingRTT.Load()) / 1e6}
}

// SendCommand sends a command as its message: a result, an error, a status, or a call of the
// client's method (wsmsg.FromCommand).
func (c *wsClient) SendCommand(streamID uint32, name string, txn float64, args ...any) error {
	m := wsmsg.FromCommand(streamID, name, txn, args)
	return c.send(&m)
}

// Held implements session.Transport: the writer takes what is queued in one go anyway.
func (c *wsClient) Held(fn func()) { fn() }

// AcceptConnect sends connected{info}; onBWDone is Flash's and a browser has no use for it.
func (c *wsClient) AcceptConnect(_ float64, info *amf.Object, _, _ bool) {
	_ = c.send(&wsmsg.Message{Type: wsmsg.TypeConnected, Info: info})
}

// RejectConnect sends rejected{info} and closes once it is written.
func (c *wsClient) RejectConnect(_ float64, info *amf.Object) {
	_ = c.send(&wsmsg.Message{Type: wsmsg.TypeRejected, Info: info})
	c.conn.CloseAfterFlush(websocket.StatusNormalClosure, info.String("code"))
}

// CloseWithStatus sends status{info} and closes once it is written.
func (c *wsClient) CloseWithStatus(info *amf.Object) {
	_ = c.send(&wsmsg.Message{Type: wsmsg.TypeStatus, Info: info})
	c.conn.CloseAfterFlush(websocket.StatusNormalClosure, info.String("code"))
}

// Kill closes at once.
func (c *wsClient) Kill(reason error) {
	c.conn.Close(&wsconn.CloseError{Code: websocket.StatusGoingAway, Reason: "closed by the server", Err: reason})
}

// StreamStatus sends a NetStream status (a refusal) with the stream it is about.
func (c *wsClient) StreamStatus(streamID uint32, info *amf.Object) error {
	return c.send(&wsmsg.Message{Type: wsmsg.TypeStatus, Info: info, Stream: streamID})
}

// PublishStarted is never reached (call refuses publish); it refuses all the same.
func (c *wsClient) PublishStarted(uint32, string, *live.Publication, *amf.Object) error {
	return errNoMedia
}

func (c *wsClient) PublishStopped(uint32, *amf.Object) {}

// StartPlay is never reached (call refuses play); it refuses all the same.
func (c *wsClient) StartPlay(uint32, string, bool, *live.Hub) (session.Play, error) {
	return nil, errNoMedia
}

// StartFilePlay implements session.Transport: no media over this transport, recorded or live.
func (c *wsClient) StartFilePlay(uint32, string, bool, *vod.Player) (session.Play, error) {
	return nil, errNoMedia
}

// SharedObjectSink implements session.Transport; one subscriber serves the client's registry.
func (c *wsClient) SharedObjectSink(*sharedobject.Registry) sharedobject.Subscriber {
	c.soOnce.Do(func() { c.so = &wsSOSubscriber{c: c} })
	return c.so
}

// wsSOSubscriber is a WebSocket client's side of its shared-object subscriptions. The registry
// calls Send with its lock held: the message (immutable once sent) is queued as it is and
// translated to JSON by the client's writer, so that no JSON is made under the lock. A client
// whose queue is full is closed (wsconn.ErrSlow), as an RTMP client over its outbound limit.
type wsSOSubscriber struct{ c *wsClient }

var _ sharedobject.Subscriber = (*wsSOSubscriber)(nil)

// Send implements sharedobject.Subscriber; the client's requests are AMF3, so msg is too.
func (s *wsSOSubscriber) Send(msg *rtmpmsg.SharedObjectMessage, _ bool) {
	_ = s.c.conn.SendRendered(wsmsg.EstimateFrames(msg), func() ([][]byte, error) { return wsmsg.SharedObjectFrames(msg) })
}
