package origin

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/scripting"
)

// trunkSession is an edge client as the app sees it (scripting.Session): the same thing as a
// direct client, except that every answer becomes a trunk frame for the edge to relay. Its
// scripting.Session methods run on the app's loop; its frames arrive on the Mux's session
// goroutine, which waits for connect to have returned the app's handle.
type trunkSession struct {
	p      *trunkPeer
	id     uint32
	info   scripting.ClientInfo
	enc    float64
	ready  chan struct{} // closed once js is set (or connect failed)
	js     *scripting.Client
	target Target      // set with js
	dec    amf.Decoder // used on the session goroutine only

	decided           atomic.Bool
	msgIn, msgOut     atomic.Uint64
	bytesIn, bytesOut atomic.Uint64

	nextStream float64            // NetStream ids; session goroutine only
	plays      map[uint32]playKey // accepted plays by NetStream (trunk_plays.go); session goroutine only
	so         *trunkSOSubscriber // set on the first shared-object message; session goroutine only

	mu      sync.Mutex
	calls   map[float64]func(any, *amf.Object)
	nextTxn float64
}

var _ scripting.Session = (*trunkSession)(nil)

func newTrunkSession(p *trunkPeer, id uint32, m trunk.SessionOpen) *trunkSession {
	ts := &trunkSession{p: p, id: id, ready: make(chan struct{}), calls: map[float64]func(any, *amf.Object){}, nextTxn: 1000}
	obj, args := ts.decodeConnect(m.Command, m.Args)
	ts.enc, _ = obj.Number("objectEncoding")
	ip := m.ClientAddr
	if host, _, err := net.SplitHostPort(m.ClientAddr); err == nil {
		ip = host
	}
	ts.info = scripting.ClientInfo{
		IP: ip, Agent: m.Agent, Referrer: m.Referrer, PageURL: m.PageURL, Protocol: m.Protocol,
		URI: obj.String("tcUrl"), ObjectEncoding: int(ts.enc), CommandObject: obj, ConnectArgs: args,
		Edge: &scripting.EdgeInfo{ID: p.edgeID, Address: p.addr},
	}
	if ts.info.Protocol == "" {
		ts.info.Protocol = "rtmp"
	}
	return ts
}

// decodeConnect decodes the connect object and arguments the edge forwarded as the client sent
// them; what does not decode is dropped (the app then sees fewer arguments), as for a direct
// client whose arguments are bounded by rtmpmsg.MaxArgs.
func (ts *trunkSession) decodeConnect(cmd, rest []byte) (*amf.Object, []any) {
	ts.dec.Reset(cmd)
	v, _ := ts.dec.DecodeAMF0()
	obj, _ := v.(*amf.Object)
	if obj == nil {
		obj = &amf.Object{}
	}
	var args []any
	ts.dec.Reset(rest)
	for ts.dec.Len() > 0 && len(args) < rtmpmsg.MaxArgs {
		a, err := ts.dec.DecodeAMF0()
		if err != nil {
			break
		}
		args = append(args, a)
	}
	return obj, args
}

// connect hands the session to its app like a direct client's connect.
func (ts *trunkSession) connect() {
	defer close(ts.ready)
	obj := ts.info.CommandObject
	t, err := ParseConnectTarget(obj.String("app"), obj.String("tcUrl"))
	if err != nil {
		ts.Reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.InvalidApp", "Invalid application name ("+obj.String("app")+")."))
		return
	}
	ts.info.Query = t.Query
	if !ts.p.srv.engine.AppExists(t.App) {
		desc := "[ Server.Reject ] : (_defaultRoot_, _defaultVHost_) : Application (" + t.App + ") is not defined."
		ts.Reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", desc))
		return
	}
	js, err := ts.p.srv.engine.Connect(t.App, t.Instance, ts)
	if err != nil {
		ts.Reject(rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", err.Error()))
		return
	}
	ts.js, ts.target = js, t
}

// ID is unique across edges: the edge's id and the session id it allocated.
func (ts *trunkSession) ID() string { return fmt.Sprintf("%s#%d", ts.p.edgeID, ts.id) }

// Info is the real client's connect request, with client.edge set.
func (ts *trunkSession) Info() scripting.ClientInfo { return ts.info }

// Accept sends the accept verdict with the same info object a direct client gets, and the app's
// sendBWDone switch so that the edge finishes the connect the way the origin would. It runs on
// the app's loop, possibly before connect has stored the app's handle: connect only posts to the
// loop, so waiting for ready here is a matter of microseconds and keeps the verdict ahead of
// anything the app sends next.
func (ts *trunkSession) Accept() {
	if !ts.decided.CompareAndSwap(false, true) {
		return
	}
	<-ts.ready
	var flags uint8
	if ts.js != nil && !ts.js.SendBWDone() {
		flags |= trunk.VerdictNoBWDone
	}
	enc := ts.enc
	if enc != 3 {
		enc = 0
	}
	info := rtmpconn.StatusInfo("status", "NetConnection.Connect.Success", "Connection succeeded.",
		amf.Prop{Key: "objectEncoding", Value: enc},
		amf.Prop{Key: "data", Value: &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "version", Value: serverVersion}}}})
	ts.verdict(trunk.VerdictAccept, flags, info)
}

// Reject sends the app's status object as the verdict; the session then ends.
func (ts *trunkSession) Reject(info *amf.Object) {
	if !ts.decided.CompareAndSwap(false, true) {
		return
	}
	if info == nil {
		info = rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Connection rejected.")
	}
	ts.p.log.Info().Str("edge", ts.p.edgeID).Uint32("session", ts.id).Str("code", info.String("code")).Msg("edge client rejected")
	ts.verdict(trunk.VerdictReject, 0, info)
	_ = ts.p.mux.Close(ts.id, trunk.CodeRejected, "rejected")
}

func (ts *trunkSession) verdict(status, flags uint8, info *amf.Object) {
	var e amf.Encoder
	b, err := e.AppendAMF0(nil, info)
	if err != nil {
		b = nil
	}
	_ = ts.p.conn.Send(ts.id, trunk.SessionVerdict{Status: status, Flags: flags, Info: b})
}

// Reply sends the _result of a client's call.
func (ts *trunkSession) Reply(txn float64, value any) { ts.command("_result", txn, value) }

// ReplyError sends the _error of a client's call.
func (ts *trunkSession) ReplyError(txn float64, info *amf.Object) { ts.command("_error", txn, info) }

// Call makes a server→client call; the edge relays the client's answer back on this session.
func (ts *trunkSession) Call(method string, args []any, onAnswer func(any, *amf.Object)) {
	txn := 0.0
	if onAnswer != nil {
		ts.mu.Lock()
		ts.nextTxn++
		txn = ts.nextTxn
		ts.calls[txn] = onAnswer
		ts.mu.Unlock()
	}
	ts.command(method, txn, args...)
}

// Close tells the client why, through the edge, then ends the session.
func (ts *trunkSession) Close(code, description string) {
	if !strings.HasPrefix(code, "NetConnection.") {
		code = "NetConnection.Connect." + code
	}
	ts.commandOn(0, "onStatus", 0, rtmpconn.StatusInfo("status", code, description))
	_ = ts.p.mux.Close(ts.id, trunk.CodeNormal, description)
}

// Stats counts the session's messages over the trunk.
func (ts *trunkSession) Stats() scripting.ClientStats {
	return scripting.ClientStats{BytesIn: ts.bytesIn.Load(), BytesOut: ts.bytesOut.Load(), MsgIn: ts.msgIn.Load(),
		MsgOut: ts.msgOut.Load(), PingRTTMs: float64(ts.p.conn.Stats().RTT.Microseconds()) / 1e3}
}

func (ts *trunkSession) command(name string, txn float64, args ...any) {
	ts.commandOn(0, name, txn, args...)
}

// commandOn encodes a command in the client's object encoding; the edge re-encodes it for its
// connection, so AMF3 values survive.
func (ts *trunkSession) commandOn(streamID uint32, name string, txn float64, args ...any) {
	var e amf.Encoder
	amf3 := ts.enc == 3
	p, err := rtmpmsg.AppendCommand(nil, &e, amf3, name, txn, nil, args...)
	if err != nil {
		ts.p.log.Warn().Err(err).Str("command", name).Msg("cannot encode a command for an edge client")
		return
	}
	typ := uint8(rtmpmsg.TypeCommandAMF0)
	if amf3 {
		typ = rtmpmsg.TypeCommandAMF3
	}
	ts.send(trunk.SessionMessage{Type: typ, StreamID: streamID, Payload: p})
}

// send queues a session message; when the edge's window is used up the message is dropped and
// logged, as a direct client over its queue limit would be cut off. A message to a session or
// trunk that has already ended (the edge client left, the edge went away: thousands at once when
// an edge with many clients stops) is expected and logged at debug only.
func (ts *trunkSession) send(m trunk.SessionMessage) {
	if err := ts.p.conn.SendSession(ts.id, m); err != nil {
		ev := ts.p.log.Warn()
		if errors.Is(err, trunk.ErrClosed) || errors.Is(err, trunk.ErrUnknownSession) {
			ev = ts.p.log.Debug()
		}
		ev.Err(err).Uint32("session", ts.id).Msg("message to an edge client dropped")
		return
	}
	ts.msgOut.Add(1)
	ts.bytesOut.Add(uint64(len(m.Payload)))
}

// onFrame runs on the session's goroutine, in arrival order.
func (ts *trunkSession) onFrame(f trunk.Frame) {
	<-ts.ready
	if f.Kind != trunk.KindSessionMessage || ts.js == nil {
		return
	}
	m, err := trunk.DecodeSessionMessage(f.Body)
	if err != nil {
		_ = ts.p.mux.Close(ts.id, trunk.CodeProtocol, err.Error())
		return
	}
	ts.msgIn.Add(1)
	ts.bytesIn.Add(uint64(len(m.Payload)))
	switch m.Type {
	case rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		ts.onSharedObject(m)
		return
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
	default:
		return // data messages of a session: nothing on the origin takes them yet
	}
	cmd, err := rtmpmsg.DecodeCommand(m.Type, m.Payload, &ts.dec)
	if err != nil {
		ts.p.log.Debug().Err(err).Uint32("session", ts.id).Msg("bad command from an edge client")
		return
	}
	ts.onCommand(m.StreamID, &cmd)
}

func (ts *trunkSession) onCommand(streamID uint32, cmd *rtmpmsg.Command) {
	if h := ts.p.srv.cfg.hooks; h != nil && h.trunkCommand != nil {
		h.trunkCommand(cmd.Name)
	}
	switch {
	case cmd.Name == "_result" || cmd.Name == "_error":
		var v any = cmd.Object
		if len(cmd.Args) > 0 {
			v = cmd.Args[0]
		}
		ts.answer(cmd.TxnID, cmd.Name == "_error", v)
	case ts.onStreamCommand(streamID, cmd):
	case streamID == 0 && commandFor(cmd.Name) == nil:
		ts.js.Call(cmd.Name, cmd.TxnID, cmd.Args)
	case cmd.TxnID != 0:
		info := rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", "Method not supported through an edge yet ("+cmd.Name+").")
		ts.commandOn(streamID, "_error", cmd.TxnID, info)
	}
}

// answer delivers the client's _result/_error to the app's pending call.
func (ts *trunkSession) answer(txn float64, isError bool, v any) {
	ts.mu.Lock()
	f := ts.calls[txn]
	delete(ts.calls, txn)
	ts.mu.Unlock()
	if f == nil {
		return
	}
	if isError {
		info, _ := v.(*amf.Object)
		if info == nil {
			info = rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", "call failed")
		}
		f(nil, info)
		return
	}
	f(v, nil)
}

// onClose: the client left the edge, the edge or trunk went away, or we closed the session.
func (ts *trunkSession) onClose(trunk.SessionClose) {
	ts.p.counters.sessions.Add(-1)
	<-ts.ready
	if ts.js != nil {
		ts.dropAllPlays()
		ts.closeAllPublishes()
		ts.closeSharedObjects()
		ts.js.Disconnect()
	}
}
