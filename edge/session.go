package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// clientSession is one client of the edge, carried to its origin as one trunk session. The
// client's read goroutine owns the fields set at connect (they are set before the trunk session
// starts, so its goroutine reads them safely); the trunk session's goroutine relays what the
// origin sends, in order, so a verdict always reaches the client before the app's first call.
type clientSession struct {
	srv     *Server
	conn    *rtmpconn.Conn
	st      *trunkState
	id      uint32
	txn     float64 // the connect transaction
	enc     float64 // objectEncoding the client asked for
	verdict chan bool
	decided atomic.Bool
	accept  atomic.Bool
	key     string      // app/instance
	rdec    amf.Decoder // trunk session goroutine

	mu    sync.Mutex
	plays map[uint32]*localPlay // stream id → local delivery
	pubs  map[uint32]*localPublish
}

// maxVerdictWait bounds a connect waiting for its app's decision (the app's own pending-connect
// timeout is far shorter): a safety net against an origin that never answers.
const maxVerdictWait = 10 * time.Minute

// HandleCommand implements rtmpconn.Handler.
func (cs *clientSession) HandleCommand(c *rtmpconn.Conn, streamID uint32, cmd *rtmpmsg.Command) error {
	if h := cs.srv.cfg.clientHooks; h != nil && h.command != nil {
		h.command(cmd.Name)
	}
	if cmd.Name == "connect" && cs.st == nil {
		return cs.onConnect(cmd)
	}
	if !cs.accept.Load() {
		return fmt.Errorf("command %q before connect", cmd.Name)
	}
	return cs.forward(streamID, cmd) // the origin's session decides everything, NetStream commands too
}

// originWait is the context of a connect's wait for its origin's trunk: the connection's context
// with the OriginWait timeout, made only when route actually waits on it. A trunk that is up
// answers without waiting, and a timeout context derived from the connection's would leave a map
// of children on the connection's context for the client's whole life.
type originWait struct {
	context.Context // the connection's
	d               time.Duration
	once            sync.Once
	ctx             context.Context
	cancel          context.CancelFunc
}

func (w *originWait) get() context.Context {
	w.once.Do(func() { w.ctx, w.cancel = context.WithTimeout(w.Context, w.d) })
	return w.ctx
}

func (w *originWait) Deadline() (time.Time, bool) { return w.get().Deadline() }
func (w *originWait) Done() <-chan struct{}       { return w.get().Done() }
func (w *originWait) Err() error                  { return w.get().Err() }

// stop ends the wait: it releases the timeout context if one was made.
func (w *originWait) stop() {
	w.once.Do(func() { w.ctx = w.Context })
	if w.cancel != nil {
		w.cancel()
	}
}

// encoders re-encode the commands clients send through the edge: an encoder is needed only while
// a command is encoded, and one kept per client would keep its reference maps for the client's
// life.
var encoders = sync.Pool{New: func() any { return new(amf.Encoder) }}

// putEncoder clears the encoder's reference maps (they would keep the last command alive) and
// pools it.
func putEncoder(e *amf.Encoder) {
	e.Reset()
	encoders.Put(e)
}

// HandleRawCommand implements rtmpconn.RawCommandHandler: once connected, every command goes
// to the origin as the client sent it (the origin's session decodes and judges it, with its own
// limits; a malformed one ends the session there), so the edge spends nothing on decoding and
// re-encoding what it only relays. The connect itself, and every command while a test hook
// watches them, is decoded (HandleCommand).
func (cs *clientSession) HandleRawCommand(_ *rtmpconn.Conn, streamID uint32, typeID uint8, payload []byte) (bool, error) {
	if !cs.accept.Load() || cs.srv.cfg.clientHooks != nil {
		return false, nil
	}
	return true, cs.toOrigin(trunk.SessionMessage{Type: typeID, StreamID: streamID, Payload: payload})
}

// forward sends a call (or the client's answer to the app's call) to the origin. When the
// session's credit is used up the client's reading pauses until the origin drains: TCP then
// pushes back on the client.
func (cs *clientSession) forward(streamID uint32, cmd *rtmpmsg.Command) error {
	e := encoders.Get().(*amf.Encoder)
	p, err := rtmpmsg.AppendCommand(nil, e, cmd.AMF3, cmd.Name, cmd.TxnID, cmd.Object, cmd.Args...)
	putEncoder(e)
	if err != nil {
		return fmt.Errorf("edge: re-encode %q: %w", cmd.Name, err)
	}
	typ := uint8(rtmpmsg.TypeCommandAMF0)
	if cmd.AMF3 {
		typ = rtmpmsg.TypeCommandAMF3
	}
	return cs.toOrigin(trunk.SessionMessage{Type: typ, StreamID: streamID, Payload: p})
}

// toOrigin sends one session message, waiting (on the client's read goroutine) for credit when
// the session's window is used up.
//
// A publishing client's messages go behind the media it sent before them (closeStream after the
// last frames): the trunk otherwise writes control frames first, and the origin would end the
// publish, and its recording, before the last frames arrive.
func (cs *clientSession) toOrigin(m trunk.SessionMessage) error {
	send := cs.st.conn.SendSession
	if cs.publishing() {
		send = cs.st.conn.SendSessionAfterMedia
	}
	for {
		err := send(cs.id, m)
		if !errors.Is(err, trunk.ErrBackpressure) {
			return err
		}
		if err := cs.st.conn.WaitCredit(cs.conn.Context(), cs.id, len(m.Payload)); err != nil {
			return fmt.Errorf("edge: waiting for the origin: %w", err)
		}
	}
}

// onConnect opens the trunk session and waits (on this client's read goroutine, like a direct
// connect on the origin) until the app has decided; the verdict itself is sent to the client
// by the trunk session's goroutine.
func (cs *clientSession) onConnect(cmd *rtmpmsg.Command) error {
	obj, _ := cmd.Object.(*amf.Object)
	if obj == nil {
		obj = &amf.Object{}
	}
	cs.txn = cmd.TxnID
	cs.enc, _ = obj.Number("objectEncoding")
	key := instanceKey(obj.String("app"), obj.String("tcUrl"))
	cs.key = key
	wait := &originWait{Context: cs.conn.Context(), d: cs.srv.cfg.Limits.OriginWait}
	st, err := cs.srv.route(wait, key)
	wait.stop()
	if err != nil {
		cs.conn.Log().Warn().Err(err).Str("instance", key).Msg("connect rejected: origin unavailable")
		return cs.reject("NetConnection.Connect.Rejected", "Origin unavailable: "+unavailableReason(err))
	}
	open, err := cs.openMessage(obj, cmd.Args)
	if err != nil {
		return cs.reject("NetConnection.Connect.Rejected", err.Error())
	}
	cs.st, cs.id = st, cs.srv.newSessionID()
	if err := st.mux.Open(cs.id, trunk.SessionFuncs{OnFrame: cs.onFrame, OnClose: cs.onClose}); err != nil {
		return cs.reject("NetConnection.Connect.Failed", err.Error())
	}
	if err := st.conn.Send(cs.id, open); err != nil {
		_ = st.mux.Close(cs.id, trunk.CodeShutdown, "open failed")
	}
	return cs.awaitVerdict(key)
}

func (cs *clientSession) openMessage(obj *amf.Object, args []any) (trunk.SessionOpen, error) {
	e := encoders.Get().(*amf.Encoder)
	defer putEncoder(e)
	command, err := e.AppendAMF0(nil, obj)
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
	return trunk.SessionOpen{EdgeID: cs.srv.ID(), ClientAddr: cs.conn.RemoteAddr().String(), Protocol: "rtmp",
		Agent: obj.String("flashVer"), Referrer: obj.String("swfUrl"), PageURL: obj.String("pageUrl"),
		Command: command, Args: rest}, nil
}

func (cs *clientSession) awaitVerdict(key string) error {
	timeout := time.NewTimer(maxVerdictWait)
	defer timeout.Stop()
	select {
	case ok := <-cs.verdict:
		cs.verdict = nil // sent once (decided): the channel is garbage from here
		if ok {
			cs.conn.Log().Info().Str("instance", key).Uint32("session", cs.id).Msg("connected")
		}
		return nil // a rejection is queued; the connection closes once it is written
	case <-cs.conn.Context().Done():
		return context.Cause(cs.conn.Context())
	case <-timeout.C:
		_ = cs.st.mux.Close(cs.id, trunk.CodeTimeout, "no verdict in time")
		return nil
	}
}

// reject answers connect locally (no origin decided) and closes after it is written.
func (cs *clientSession) reject(code, desc string) error {
	if !cs.decided.CompareAndSwap(false, true) {
		return nil
	}
	return cs.conn.SendConnectReject(cs.txn, rtmpconn.StatusInfo("error", code, desc))
}

// HandleSharedObject implements rtmpconn.Handler: the message goes to the origin, whose registry
// serves edge clients exactly like direct ones, in the type the client used (16 stays 16, so the
// origin answers this client in AMF3). The envelope was already checked by rtmpconn (a bad event
// length closes this client here); the events are the origin's to judge.
func (cs *clientSession) HandleSharedObject(_ *rtmpconn.Conn, msg *rtmpmsg.SharedObjectMessage, amf3 bool) error {
	if !cs.accept.Load() {
		return fmt.Errorf("shared object %q before connect", msg.Name)
	}
	typ := uint8(rtmpmsg.TypeSharedObjectAMF0)
	if amf3 {
		typ = rtmpmsg.TypeSharedObjectAMF3
	}
	return cs.toOrigin(trunk.SessionMessage{Type: typ, Payload: rtmpmsg.AppendSharedObject(nil, msg, amf3)})
}

// Closed implements rtmpconn.Handler: the origin learns the client left.
func (cs *clientSession) Closed(*rtmpconn.Conn, error) {
	if cs.st != nil {
		_ = cs.st.mux.Close(cs.id, trunk.CodeClientGone, "client left")
		cs.stopAll()
	}
}
