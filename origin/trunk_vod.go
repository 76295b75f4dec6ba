package origin

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/vod"
	"github.com/fmsgo/fmsgo/origin/session"
)

// Recorded plays of edge clients are served here, by the origin, per session: the player runs
// at the origin and its messages cross the trunk as the client's own session messages, behind
// a play-start verdict flagged recorded. A recording is not pulled once per edge like a live
// stream: every player is at its own place in the file, with its own pause and seek, so there is
// nothing to share on the trunk, while the origin's Library already shares the file's reads
// among all players, direct and edge ones (docs/trunk.md).

// StartFilePlay implements session.Transport: the play-start verdict, flagged recorded (the edge
// sends StreamIsRecorded and StreamBegin, then the messages), then the player, whose messages
// follow it on the session.
func (ts *trunkSession) StartFilePlay(streamID uint32, name string, reset bool, p *vod.Player) (session.Play, error) {
	v := ts.playStartVerdict(streamID, name, reset)
	v.Flags |= trunk.StreamFlagRecorded
	ts.streamVerdict(v)
	p.Start(&trunkFileSink{ts: ts, streamID: streamID, reserve: int64(ts.p.conn.SessionWindow() / 4)})
	return &trunkFilePlay{ts: ts, streamID: streamID, name: name, p: p}, nil
}

// trunkFileSink is a recorded play's vod.Sink on an edge client's session. Its messages are
// charged to the session's credit like every session message, so the edge's client paces the
// player (the edge acknowledges once its client's queue took them), and media leaves a quarter
// of the window to the session's other messages (statuses, call answers), which are dropped
// when none is left.
type trunkFileSink struct {
	ts       *trunkSession
	streamID uint32
	reserve  int64
}

// Deliver implements vod.Sink: the payload is copied into the frame, the reference released.
func (s *trunkFileSink) Deliver(p *media.Packet, ts uint32) bool {
	cost := int64(trunk.HeaderSize + 9 + len(p.Payload))
	if avail, ok := s.ts.p.conn.Available(s.ts.id); !ok || avail-cost < s.reserve && avail != int64(s.ts.p.conn.SessionWindow()) {
		return false
	}
	if !s.send(trunk.SessionMessage{Type: p.TypeID, StreamID: s.streamID, Timestamp: ts, Payload: p.Payload}) {
		return false
	}
	p.Release()
	return true
}

// Status implements vod.Sink.
func (s *trunkFileSink) Status(info *amf.Object) bool {
	m, err := s.ts.encodeCommand("onStatus", 0, info)
	if err != nil {
		return true // cannot be encoded: dropped (logged), never retried
	}
	return s.send(trunk.SessionMessage{Type: m.Type, StreamID: s.streamID, Payload: m.Payload})
}

// Event implements vod.Sink: a user control message, which the edge writes for its client.
func (s *trunkFileSink) Event(ev uint16) bool {
	b := rtmpmsg.AppendUserControl(nil, ev, s.streamID)
	return s.send(trunk.SessionMessage{Type: rtmpmsg.TypeUserControl, StreamID: s.streamID, Payload: b})
}

// Flush implements vod.Sink: the trunk's writer sends at once.
func (s *trunkFileSink) Flush() {}

// send queues one session message; false when the credit is used up (the player retries).
func (s *trunkFileSink) send(m trunk.SessionMessage) bool {
	if err := s.ts.p.conn.SendSession(s.ts.id, m); err != nil {
		return false
	}
	s.ts.msgOut.Add(1)
	s.ts.bytesOut.Add(uint64(len(m.Payload)))
	return true
}

// trunkFilePlay is an edge client's recorded play, run by the origin.
type trunkFilePlay struct {
	ts       *trunkSession
	streamID uint32
	name     string
	p        *vod.Player
}

func (f *trunkFilePlay) Pause(on bool)        { f.p.Pause(on) }
func (f *trunkFilePlay) BytesOut() uint64     { return f.p.BytesOut() }
func (f *trunkFilePlay) ReceiveAudio(on bool) { f.p.ReceiveAudio(on) }
func (f *trunkFilePlay) ReceiveVideo(on bool) { f.p.ReceiveVideo(on) }

// Seek implements session.Seeker.
func (f *trunkFilePlay) Seek(ms uint32, notify, start *amf.Object) { f.p.Seek(ms, notify, start) }

// Stop ends the play and has the edge detach it; the edge sends StreamEOF and status unless the
// play had reached its end (it sent its own). At the session's end (status nil) the edge stops
// it itself.
func (f *trunkFilePlay) Stop(status *amf.Object) {
	f.p.Stop()
	if status == nil {
		return
	}
	v := trunk.StreamVerdict{StreamID: f.streamID, Op: trunk.OpPlayStop, Stream: f.name}
	if f.p.Ended() {
		status = nil
	}
	f.ts.streamVerdict(v, status)
}
