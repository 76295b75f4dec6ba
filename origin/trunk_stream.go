package origin

import (
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/scripting"
)

// trunkSub is one stream an edge pulls on a channel: one hub subscription for all the edge's
// viewers of that stream.
type trunkSub struct {
	inst *instance
	sub  *live.Subscription
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
	app, inst, _ := strings.Cut(m.App, "/")
	t := Target{App: app, Instance: inst}
	if t.Instance == "" {
		t.Instance = DefaultInstance
	}
	if !validSegment(t.App) || !validInstance(t.Instance) || m.Stream == "" {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: "invalid stream " + m.App + "/" + m.Stream})
	}
	if !p.plays.accepted(playKey{app: t.App, instance: t.Instance, stream: m.Stream}) {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected,
			Description: "no accepted play of " + t.Name() + "/" + m.Stream + " on this trunk"})
	}
	in, err := p.srv.apps.acquire(t)
	if err != nil {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamNotFound, Description: err.Error()})
	}
	sub, err := in.hub.Subscribe(m.Stream, &trunkSubscriber{conn: p.conn, ch: f.ID})
	if err != nil {
		p.srv.apps.release(in)
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: err.Error()})
	}
	p.subs[f.ID] = &trunkSub{inst: in, sub: sub}
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
	p.srv.apps.release(ts.inst)
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

// Deliver implements live.Subscriber. The payload is copied because the trunk's writer keeps a
// reference until it is written and hub packets are recycled on release.
func (s *trunkSubscriber) Deliver(p *media.Packet, ts uint32) bool {
	m := trunk.StreamMedia{Type: p.TypeID, Timestamp: ts, Payload: append([]byte(nil), p.Payload...)}
	if err := s.conn.SendMedia(s.ch, m); err != nil {
		return false
	}
	p.Release()
	return true
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

// onStreamCommand answers an edge client's NetStream commands. Plays are decided by the app like
// a direct client's; the media then comes from the edge's one subscription per stream.
func (ts *trunkSession) onStreamCommand(streamID uint32, cmd *rtmpmsg.Command) bool {
	switch cmd.Name {
	case "createStream":
		ts.nextStream++
		ts.commandOn(0, "_result", cmd.TxnID, float64(ts.nextStream))
	case "releaseStream", "FCPublish", "FCUnpublish", "FCSubscribe", "FCUnsubscribe":
		if cmd.TxnID != 0 {
			ts.commandOn(0, "_result", cmd.TxnID, amf.Undefined{})
		}
	case "_checkbw":
		ts.commandOn(0, "_result", cmd.TxnID, nil)
	case "getStreamLength":
		ts.commandOn(0, "_result", cmd.TxnID, float64(0))
	case "play", "play2":
		ts.onPlay(streamID, cmd)
	case "publish":
		ts.onPublish(streamID, cmd)
	case "closeStream":
		ts.dropPlay(streamID)
		ts.closePublish(streamID, true)
	case "deleteStream":
		ts.dropPlay(uint32(argNumber(cmd.Args, 0, 0)))
		ts.closePublish(uint32(argNumber(cmd.Args, 0, 0)), true)
	case "pause", "pauseRaw", "seek", "receiveAudio", "receiveVideo":
		// the edge serves these from its local subscription
	default:
		return false
	}
	return true
}

// onPlay asks the app, then sends what a direct player gets before the first frame; the edge
// starts its local delivery on NetStream.Play.Start.
func (ts *trunkSession) onPlay(streamID uint32, cmd *rtmpmsg.Command) {
	name, query := SplitStreamName(argString(cmd.Args, 0))
	ts.dropPlay(streamID) // a new play replaces the NetStream's last, accepted or not
	if name == "" {
		ts.streamStatus(streamID, nil, "error", "NetStream.Play.StreamNotFound", "No stream name given.", name)
		return
	}
	ok, info := ts.askApp(func(v func(bool, *amf.Object)) { ts.js.Play(scripting.StreamRef{Name: name, Query: query}, v) })
	if !ok {
		ts.streamStatus(streamID, info, "error", "NetStream.Play.Failed", "The application refused to play "+name+".", name)
		return
	}
	ts.notePlay(streamID, name)
	for _, m := range netstream.PlayStart(name, argBool(cmd.Args, 3, true), ts.enc == 3) {
		switch m.Kind {
		case netstream.Status:
			ts.streamStatus(streamID, nil, m.Level, m.Code, m.Description, name)
		case netstream.Data:
			ts.send(trunk.SessionMessage{Type: m.Type, StreamID: streamID, Payload: m.Payload})
		}
		// StreamBegin: the edge owns the client's connection and sends it before the first Play
		// status it relays
	}
}

// streamStatus sends the app's own status object when it gave one, else FMS's default.
func (ts *trunkSession) streamStatus(streamID uint32, info *amf.Object, level, code, desc, name string) {
	if info == nil || info.String("code") == "" {
		info = rtmpconn.StatusInfo(level, code, desc, amf.Prop{Key: "details", Value: name}, amf.Prop{Key: "clientid", Value: ts.ID()})
	}
	ts.commandOn(streamID, "onStatus", 0, info)
}

// askApp waits, on the session's goroutine, for the app's publish or play verdict.
func (ts *trunkSession) askApp(ask func(verdict func(bool, *amf.Object))) (bool, *amf.Object) {
	type answer struct {
		ok   bool
		info *amf.Object
	}
	ch := make(chan answer, 1)
	var once sync.Once
	ask(func(ok bool, info *amf.Object) { once.Do(func() { ch <- answer{ok, info} }) })
	select {
	case a := <-ch:
		return a.ok, a.info
	case <-time.After(appVerdictWait):
		return false, rtmpconn.StatusInfo("error", "NetStream.Failed", "the application gave no decision in time")
	}
}
