package origin

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/origin/session"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/rs/zerolog"
)

// trunkSession is an edge client's transport (session.Transport): its session runs here, on the
// Mux's goroutine of the trunk session, and every answer becomes a trunk frame for the edge to
// relay. Only the media of its plays is the edge's own (one subscription per stream and edge).
type trunkSession struct {
	p    *trunkPeer
	id   uint32
	core *session.Session
	log  zerolog.Logger
	amf3 bool        // the client's object encoding, from its connect
	dec  amf.Decoder // the session goroutine's

	msgIn, msgOut     atomic.Uint64
	bytesIn, bytesOut atomic.Uint64

	plays map[uint32]playKey // accepted plays by NetStream (trunk_plays.go); session goroutine only

	soOnce sync.Once
	so     *trunkSOSubscriber
}

var _ session.Transport = (*trunkSession)(nil)

func newTrunkSession(p *trunkPeer, id uint32) *trunkSession {
	ts := &trunkSession{p: p, id: id}
	ts.log = p.log.With().Str("edge", p.edgeID).Uint32("session", id).Logger()
	ts.core = session.New(p.srv.sessionEnv, ts)
	return ts
}

// decodeConnect decodes the connect object and arguments the edge forwarded as the client sent
// them; what does not decode is dropped (the app then sees fewer arguments), as for a direct
// client whose arguments are bounded by rtmpmsg.MaxArgs.
func decodeConnect(dec *amf.Decoder, cmd, rest []byte) (*amf.Object, []any) {
	defer dec.Reset(nil)
	dec.Reset(cmd)
	v, _ := dec.DecodeAMF0()
	obj, _ := v.(*amf.Object)
	if obj == nil {
		obj = &amf.Object{}
	}
	var args []any
	dec.Reset(rest)
	for dec.Len() > 0 && len(args) < rtmpmsg.MaxArgs {
		a, err := dec.DecodeAMF0()
		if err != nil {
			break
		}
		args = append(args, a)
	}
	return obj, args
}

// connect runs the client's connect, on the session's goroutine, from its SessionOpen.
func (ts *trunkSession) connect(f trunk.Frame) {
	m, err := trunk.DecodeSessionOpen(f.Body)
	if err != nil {
		_ = ts.p.mux.Close(ts.id, trunk.CodeProtocol, err.Error())
		return
	}
	obj, args := decodeConnect(&ts.dec, m.Command, m.Args)
	enc, _ := obj.Number("objectEncoding")
	ts.amf3 = enc == 3
	ip := m.ClientAddr
	if host, _, err := net.SplitHostPort(m.ClientAddr); err == nil {
		ip = host
	}
	ts.core.SetBase(session.Base{IP: ip, Protocol: m.Protocol, Agent: m.Agent, Referrer: m.Referrer, PageURL: m.PageURL,
		Edge: &scripting.EdgeInfo{ID: ts.p.edgeID, Address: ts.p.addr}})
	_ = ts.core.Command(0, &rtmpmsg.Command{Name: "connect", Object: obj, Args: args})
}

// onFrame runs on the session's goroutine, in arrival order.
func (ts *trunkSession) onFrame(f trunk.Frame) {
	switch f.Kind {
	case trunk.KindSessionOpen:
		ts.connect(f)
		return
	case trunk.KindSessionMessage:
	default:
		return
	}
	m, err := trunk.DecodeSessionMessage(f.Body)
	if err != nil {
		_ = ts.p.mux.Close(ts.id, trunk.CodeProtocol, err.Error())
		return
	}
	ts.msgIn.Add(1)
	ts.bytesIn.Add(uint64(len(m.Payload)))
	if err := ts.onMessage(m); err != nil {
		ts.log.Info().Err(err).Msg("edge client closed")
		_ = ts.p.mux.Close(ts.id, trunk.CodeProtocol, err.Error())
	}
}

func (ts *trunkSession) onMessage(m trunk.SessionMessage) error {
	switch m.Type {
	case rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		msg, err := rtmpmsg.DecodeSharedObject(m.Type, m.Payload)
		if err != nil {
			return err
		}
		return ts.core.SharedObject(&msg, m.Type == rtmpmsg.TypeSharedObjectAMF3)
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
	default:
		return nil // data messages of a session: a publisher's go on its stream channel
	}
	cmd, err := rtmpmsg.DecodeCommand(m.Type, m.Payload, &ts.dec)
	defer ts.dec.Reset(nil)
	if err != nil { // the edge relays commands undecoded: this is the client's, as a direct client's would be
		return fmt.Errorf("bad command message (type %d, %d bytes): %w", m.Type, len(m.Payload), err)
	}
	if h := ts.p.srv.cfg.hooks; h != nil && h.trunkCommand != nil {
		h.trunkCommand(cmd.Name)
	}
	return ts.core.Command(m.StreamID, &cmd)
}

// onClose: the client left the edge, the edge or trunk went away, or we closed the session.
func (ts *trunkSession) onClose(trunk.SessionClose) {
	ts.p.counters.sessions.Add(-1)
	ts.core.Close()
	ts.dropAllPlays()
}

// ID is unique across edges: the edge's id and the session id it allocated.
func (ts *trunkSession) ID() string            { return fmt.Sprintf("%s#%d", ts.p.edgeID, ts.id) }
func (ts *trunkSession) Log() *zerolog.Logger  { return &ts.log }
func (ts *trunkSession) Done() <-chan struct{} { return ts.p.conn.Done() }

// Stats counts the session's messages over the trunk.
func (ts *trunkSession) Stats() scripting.ClientStats {
	return scripting.ClientStats{BytesIn: ts.bytesIn.Load(), BytesOut: ts.bytesOut.Load(), MsgIn: ts.msgIn.Load(),
		MsgOut: ts.msgOut.Load(), PingRTTMs: float64(ts.p.conn.Stats().RTT.Microseconds()) / 1e3}
}

// AcceptConnect sends the accept verdict with the app's sendBWDone switch, so that the edge
// finishes the connect the way the origin would.
func (ts *trunkSession) AcceptConnect(_ float64, info *amf.Object, _ bool, sendBWDone bool) {
	var flags uint8
	if !sendBWDone {
		flags |= trunk.VerdictNoBWDone
	}
	ts.verdict(trunk.VerdictAccept, flags, info)
}

// RejectConnect sends the status object as the verdict; the session then ends.
func (ts *trunkSession) RejectConnect(_ float64, info *amf.Object) {
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

// CloseWithStatus tells the client why, through the edge, then ends the session.
func (ts *trunkSession) CloseWithStatus(info *amf.Object) {
	_ = ts.SendCommand(0, "onStatus", 0, info)
	_ = ts.p.mux.Close(ts.id, trunk.CodeNormal, info.String("description"))
}

// Kill ends the session at once; the edge tells the client the connection closed.
func (ts *trunkSession) Kill(reason error) {
	_ = ts.p.mux.Close(ts.id, trunk.CodeShutdown, reason.Error())
}

// SendCommand encodes a command in the client's object encoding; the edge writes it as it is.
func (ts *trunkSession) SendCommand(streamID uint32, name string, txn float64, args ...any) error {
	m, err := ts.encodeCommand(name, txn, args...)
	if err != nil {
		return err
	}
	return ts.send(trunk.SessionMessage{Type: m.Type, StreamID: streamID, Payload: m.Payload})
}

// encodeCommand encodes a command as the client's connection would (AMF3 for an AMF3 client).
func (ts *trunkSession) encodeCommand(name string, txn float64, args ...any) (trunk.VerdictMessage, error) {
	var e amf.Encoder
	p, err := rtmpmsg.AppendCommand(nil, &e, ts.amf3, name, txn, nil, args...)
	if err != nil {
		ts.log.Warn().Err(err).Str("command", name).Msg("cannot encode a command for an edge client")
		return trunk.VerdictMessage{}, err
	}
	typ := uint8(rtmpmsg.TypeCommandAMF0)
	if ts.amf3 {
		typ = rtmpmsg.TypeCommandAMF3
	}
	return trunk.VerdictMessage{Type: typ, Payload: p}, nil
}

// streamVerdict tells the edge what the session decided about a NetStream, with the statuses
// the client gets once the edge has done its part (trunk.StreamVerdict).
func (ts *trunkSession) streamVerdict(v trunk.StreamVerdict, statuses ...*amf.Object) {
	for _, st := range statuses {
		if st == nil {
			continue
		}
		if m, err := ts.encodeCommand("onStatus", 0, st); err == nil {
			v.Messages = append(v.Messages, m)
		}
	}
	if err := ts.p.conn.Send(ts.id, v); err != nil {
		ts.log.Debug().Err(err).Msg("stream verdict to an edge client dropped")
		return
	}
	ts.msgOut.Add(1)
}

// Held implements session.Transport: the trunk's writer batches the edge's messages anyway.
func (ts *trunkSession) Held(fn func()) { fn() }

// StreamStatus sends a NetStream status.
func (ts *trunkSession) StreamStatus(streamID uint32, info *amf.Object) error {
	return ts.SendCommand(streamID, "onStatus", 0, info)
}

// send queues a session message; when the edge's window is used up the message is dropped and
// logged. A message to a session or trunk that has already ended (the edge client left, the
// edge went away: thousands at once when an edge with many clients stops) is expected and logged
// at debug only.
func (ts *trunkSession) send(m trunk.SessionMessage) error {
	if err := ts.p.conn.SendSession(ts.id, m); err != nil {
		ev := ts.log.Warn()
		if errors.Is(err, trunk.ErrClosed) || errors.Is(err, trunk.ErrUnknownSession) {
			ev = ts.log.Debug()
		}
		ev.Err(err).Msg("message to an edge client dropped")
		return nil
	}
	ts.msgOut.Add(1)
	ts.bytesOut.Add(uint64(len(m.Payload)))
	return nil
}

// SharedObjectSink implements session.Transport.
func (ts *trunkSession) SharedObjectSink(reg *sharedobject.Registry) sharedobject.Subscriber {
	ts.soOnce.Do(func() { ts.so = &trunkSOSubscriber{ts: ts, reg: reg} })
	return ts.so
}
