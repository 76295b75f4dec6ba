package origin

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/origin/session"
)

// trunkSub is one stream an edge pulls on a channel: one hub subscription for all the edge's
// viewers of that stream.
type trunkSub struct {
	sub     *live.Subscription
	release func() // gives the instance's hub back (scripting.Engine.Hub)
}

// subscribe serves a StreamSubscribe on the trunk's read goroutine (it only takes locks that are
// never held while waiting).
func (p *trunkPeer) subscribe(f trunk.Frame) error {
	m, err := trunk.DecodeStreamSubscribe(f.Body)
	if err != nil {
		return err
	}
	if p.subs[f.ID] != nil {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: "channel already subscribed"})
	}
	t, err := session.ParseInstanceName(m.App)
	if err != nil || m.Stream == "" {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: "invalid stream " + m.App + "/" + m.Stream})
	}
	if !p.plays.accepted(playKey{app: t.App, instance: t.Instance, stream: m.Stream}) {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected,
			Description: "no accepted play of " + t.Name() + "/" + m.Stream + " on this trunk"})
	}
	hub, release, err := p.srv.engine.Hub(t.Name())
	if err != nil {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamNotFound, Description: err.Error()})
	}
	sub, err := hub.Subscribe(m.Stream, &trunkSubscriber{conn: p.conn, ch: f.ID})
	if err != nil {
		release()
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: err.Error()})
	}
	p.subs[f.ID] = &trunkSub{sub: sub, release: release}
	p.srv.trunkSubs.Add(1)
	p.counters.pulled.Add(1)
	return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamOK, Description: m.Stream})
}

func (p *trunkPeer) unsubscribe(ch uint32) {
	ts := p.subs[ch]
	if ts == nil {
		return
	}
	delete(p.subs, ch)
	ts.sub.Close()
	ts.release()
	p.srv.trunkSubs.Add(-1)
	p.counters.pulled.Add(-1)
}

// TrunkSubscriptions counts the live streams edges pull: one per edge and stream, however many
// viewers the edge has.
func (s *Server) TrunkSubscriptions() int { return int(s.trunkSubs.Load()) }

// trunkSubscriber forwards a hub's media to one trunk channel. Its methods run under the stream's
// lock: they only queue.
type trunkSubscriber struct {
	conn *trunk.Conn
	ch   uint32
}

// Deliver implements live.Subscriber. The packet goes to the trunk by reference, not copied: the
// trunk's queue keeps the hub's reference until the frame is written (or dropped at close), so
// the pooled payload is not recycled under the writer. Refused (queue full), the reference stays
// the hub's, which then skips to the next keyframe for this edge.
func (s *trunkSubscriber) Deliver(p *media.Packet, ts uint32) bool {
	return s.conn.SendPacket(s.ch, p, ts) == nil
}

// Notify implements live.Subscriber: the edge learns publisher changes without losing the channel.
func (s *trunkSubscriber) Notify(ev live.Event) {
	switch ev.Kind {
	case live.EventPublishNotify:
		_ = s.conn.Send(s.ch, trunk.StreamStatus{Code: trunk.StreamPublished, Description: ev.Name})
	case live.EventUnpublishNotify:
		_ = s.conn.Send(s.ch, trunk.StreamStatus{Code: trunk.StreamUnpublished, Description: ev.Name})
	}
}

// CutOff implements live.Subscriber: the channel ends; the edge's viewers see the stream stop.
func (s *trunkSubscriber) CutOff(reason error) {
	_ = s.conn.Send(s.ch, trunk.StreamStatus{Code: trunk.StreamEnded, Description: reason.Error()})
}

// StartPlay implements session.Transport: the play is noted (the edge's subscribe needs it), then
// the edge is told to start it, with what a direct player gets before the first frame
// (netstream.PlayStart, in its order; the edge sends StreamBegin itself, as it owns the
// connection).
func (ts *trunkSession) StartPlay(streamID uint32, name string, reset bool, _ *live.Hub) (session.Play, error) {
	ts.notePlay(streamID, name)
	ts.streamVerdict(ts.playStartVerdict(streamID, name, reset))
	return &trunkPlay{ts: ts, streamID: streamID, name: name}, nil
}

// playStartVerdict is the play-start verdict of a play: netstream.PlayStart's messages, in
// its order (the edge sends StreamBegin itself, as it owns the connection).
func (ts *trunkSession) playStartVerdict(streamID uint32, name string, reset bool) trunk.StreamVerdict {
	v := trunk.StreamVerdict{StreamID: streamID, Op: trunk.OpPlayStart, Stream: name}
	if reset {
		v.Flags |= trunk.StreamFlagReset
	}
	for _, m := range netstream.PlayStart(name, reset, ts.amf3) {
		switch m.Kind {
		case netstream.Status:
			if cm, err := ts.encodeCommand("onStatus", 0, netstream.StatusInfo(m.Level, m.Code, m.Description, name, ts.ID())); err == nil {
				v.Messages = append(v.Messages, cm)
			}
		case netstream.Data:
			v.Messages = append(v.Messages, trunk.VerdictMessage{Type: m.Type, Payload: m.Payload})
		}
	}
	return v
}

// trunkPlay is an edge client's accepted play: the edge delivers it from its local hub, and
// applies the controls the session decides.
type trunkPlay struct {
	ts       *trunkSession
	streamID uint32
	name     string
}

func (p *trunkPlay) Pause(on bool)        { p.control(trunk.OpPause, on) }
func (p *trunkPlay) ReceiveAudio(on bool) { p.control(trunk.OpReceiveAudio, on) }
func (p *trunkPlay) ReceiveVideo(on bool) { p.control(trunk.OpReceiveVideo, on) }

func (p *trunkPlay) control(op trunk.StreamOp, on bool) {
	v := trunk.StreamVerdict{StreamID: p.streamID, Op: op, Stream: p.name}
	if on {
		v.Flags |= trunk.StreamFlagOn
	}
	p.ts.streamVerdict(v)
}

// Stop forgets the play and has the edge stop its local delivery; at the session's end
// (status nil) the edge stops it itself.
func (p *trunkPlay) Stop(status *amf.Object) {
	p.ts.dropPlay(p.streamID)
	if status != nil {
		p.ts.streamVerdict(trunk.StreamVerdict{StreamID: p.streamID, Op: trunk.OpPlayStop, Stream: p.name}, status)
	}
}
