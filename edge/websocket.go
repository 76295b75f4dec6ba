package edge

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/wsconn"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/rs/zerolog"
)

// wsClient is a browser connected to the edge over WebSocket (fmsgo.v1, docs/websocket.md),
// carried to its origin as one trunk session like an RTMP client (clientSession): the origin's
// session decides everything, the edge translates. Its messages become the AMF3 commands and
// shared-object messages an RTMP client with objectEncoding 3 would send, on its reader goroutine
// (the web request's); what the origin sends becomes JSON on the trunk session's goroutine;
// wsconn's writer writes it. It has no media: stream commands are refused here.
type wsClient struct {
	srv     *Server
	conn    *wsconn.Conn
	req     wsconn.Request
	log     zerolog.Logger
	st      *trunkState
	id      uint32
	tried   bool // the connect went to the origin (reader goroutine)
	verdict chan bool
	decided atomic.Bool
	accept  atomic.Bool
	rdec    amf.Decoder // trunk session goroutine
}

// serveWebSocketApp is GET /fms/APP[/INSTANCE][?query] on the edge's web listener.
func (s *Server) serveWebSocketApp(w http.ResponseWriter, r *http.Request) {
	ws, req, err := wsconn.AcceptApp(w, r, wsmsg.Subprotocol, s.cfg.WebOrigins)
	if err != nil {
		s.log.Debug().Err(err).Str("proto", "ws").Str("remote", r.RemoteAddr).Msg("WebSocket upgrade refused")
		return
	}
	c := &wsClient{srv: s, req: req, verdict: make(chan bool, 1)}
	c.log = s.log.With().Str("proto", req.Protocol).Str("remote", req.RemoteAddr).Logger()
	c.conn = wsconn.New(ws, s.cfg.Limits.Limits, &c.log)
	err = c.conn.Serve(c.onFrame)
	if c.st != nil {
		_ = c.st.mux.Close(c.id, trunk.CodeClientGone, "client left")
	}
	ev := c.log.Debug()
	if !wsconn.IsNormalClose(err) {
		ev = c.log.Info().Err(err)
	}
	ev.Msg("closed")
}

// onFrame handles one message of the client, on its reader goroutine.
func (c *wsClient) onFrame(frame []byte) error {
	if c.tried && !c.accept.Load() {
		return nil // rejected: the answer and the close are on their way
	}
	m, err := wsmsg.Decode(frame, 0)
	if err != nil {
		return &wsconn.CloseError{Code: websocket.StatusInvalidFramePayloadData, Reason: err.Error(), Err: err}
	}
	if c.tried == (m.Type == wsmsg.TypeConnect) {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: "connect once, first", Err: fmt.Errorf("%s out of place", m.Type)}
	}
	switch m.Type {
	case wsmsg.TypeConnect:
		return c.connect(&m)
	case wsmsg.TypeCall:
		return c.call(&m)
	case wsmsg.TypeResult, wsmsg.TypeError:
		return c.command(wsmsg.ToCommand(&m))
	case wsmsg.TypePing:
		return c.send(&wsmsg.Message{Type: wsmsg.TypePong, ID: m.ID})
	}
	msg, err := wsmsg.SharedObjectRequest(&m)
	if err != nil {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: err.Error(), Err: err}
	}
	return c.toOrigin(trunk.SessionMessage{Type: rtmpmsg.TypeSharedObjectAMF3, Payload: rtmpmsg.AppendSharedObject(nil, msg, true)})
}

// call forwards a call; the stream commands are refused (this transport carries no media).
func (c *wsClient) call(m *wsmsg.Message) error {
	if !wsmsg.IsStreamCommand(m.Method) {
		return c.command(wsmsg.ToCommand(m))
	}
	if m.ID == 0 {
		return nil
	}
	info := rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", m.Method+": publish and play are not available over WebSocket: they need RTMP")
	return c.send(&wsmsg.Message{Type: wsmsg.TypeError, ID: m.ID, Info: info})
}

// command sends a command to the origin as an AMF3 client would.
func (c *wsClient) command(cmd *rtmpmsg.Command) error {
	e := encoders.Get().(*amf.Encoder)
	p, err := rtmpmsg.AppendCommand(nil, e, true, cmd.Name, cmd.TxnID, nil, cmd.Args...)
	putEncoder(e)
	if err != nil {
		return &wsconn.CloseError{Code: websocket.StatusPolicyViolation, Reason: "cannot encode " + cmd.Name, Err: err}
	}
	return c.toOrigin(trunk.SessionMessage{Type: rtmpmsg.TypeCommandAMF3, Payload: p})
}

// toOrigin sends one session message, waiting for credit when the session's window is used up
// (the client's frames then wait in its socket).
func (c *wsClient) toOrigin(m trunk.SessionMessage) error {
	for {
		err := c.st.conn.SendSession(c.id, m)
		if !errors.Is(err, trunk.ErrBackpressure) {
			return err
		}
		if err := c.st.conn.WaitCredit(c.conn.Context(), c.id, len(m.Payload)); err != nil {
			return fmt.Errorf("edge: waiting for the origin: %w", err)
		}
	}
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

// connect opens the client's trunk session and waits, on the reader goroutine, for the app's
// verdict; the verdict itself is sent by the trunk session's goroutine.
func (c *wsClient) connect(m *wsmsg.Message) error {
	c.tried = true
	c.conn.ConnectStarted()
	key := instanceKey(c.req.App, c.req.TcURL)
	wait := &originWait{Context: c.conn.Context(), d: c.srv.cfg.Limits.OriginWait}
	st, err := c.srv.route(wait, key)
	wait.stop()
	if err != nil {
		c.log.Warn().Err(err).Str("instance", key).Msg("connect rejected: origin unavailable")
		c.reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Origin unavailable: "+unavailableReason(err)))
		return nil
	}
	open, err := c.openMessage(m.Args)
	if err != nil {
		c.reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", err.Error()))
		return nil
	}
	c.st, c.id = st, c.srv.newSessionID()
	if err := st.mux.Open(c.id, trunk.SessionFuncs{OnFrame: c.onTrunkFrame, OnClose: c.onTrunkClose}); err != nil {
		c.reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Failed", err.Error()))
		return nil
	}
	if err := st.conn.Send(c.id, open); err != nil {
		_ = st.mux.Close(c.id, trunk.CodeShutdown, "open failed")
	}
	return c.awaitVerdict(key)
}

func (c *wsClient) openMessage(args []any) (trunk.SessionOpen, error) {
	e := encoders.Get().(*amf.Encoder)
	defer putEncoder(e)
	command, err := e.AppendAMF0(nil, c.req.ConnectObject())
	if err != nil {
		return trunk.SessionOpen{}, fmt.Errorf("connect object: %w", err)
	}
	var rest []byte
	for _, a := range args {
		e.Reset()
		if rest, err = e.AppendAMF0(rest, a); err != nil {
			return trunk.SessionOpen{}, fmt.Errorf("connect arguments: %w", err)
		}
	}
	return trunk.SessionOpen{EdgeID: c.srv.ID(), ClientAddr: c.req.RemoteAddr, Protocol: c.req.Protocol,
		Agent: c.req.Agent, Referrer: c.req.Referrer, PageURL: c.req.PageURL, Command: command, Args: rest}, nil
}

func (c *wsClient) awaitVerdict(key string) error {
	timeout := time.NewTimer(maxVerdictWait)
	defer timeout.Stop()
	select {
	case ok := <-c.verdict:
		if ok {
			c.log.Info().Str("instance", key).Uint32("session", c.id).Msg("connected")
		}
		return nil
	case <-c.conn.Done():
		return c.conn.Cause()
	case <-timeout.C:
		_ = c.st.mux.Close(c.id, trunk.CodeTimeout, "no verdict in time")
		return nil
	}
}

// reject answers connect (once) with info and closes after it is written.
func (c *wsClient) reject(info *amf.Object) bool {
	if !c.decided.CompareAndSwap(false, true) {
		return false
	}
	_ = c.send(&wsmsg.Message{Type: wsmsg.TypeRejected, Info: info})
	c.conn.CloseAfterFlush(websocket.StatusNormalClosure, info.String("code"))
	return true
}
