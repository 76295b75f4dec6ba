package edge

import (
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Recorded plays are run by the origin's session (origin/trunk_vod.go): the edge writes what
// it sends on the client's NetStream (media, data, user control events) and keeps the client's
// pace, holding the session's delivery while the client's queue is full, so that the origin,
// short of credit, waits too: a slow client slows its own playback and loses nothing.

// recordedBudget is the media a recorded play's client may have waiting at the edge before its
// session's delivery waits for it.
const recordedBudget = 4 << 20

// recordedRetry is how often a waiting delivery looks at the client's queue again.
const recordedRetry = 20 * time.Millisecond

// startRecorded registers an accepted recorded play on streamID; nothing attaches to the hub.
func (cs *clientSession) startRecorded(streamID uint32, name string) {
	cs.mu.Lock()
	if cs.plays == nil {
		cs.plays = map[uint32]*localPlay{}
	}
	cs.plays[streamID] = &localPlay{name: name, recorded: true}
	cs.mu.Unlock()
	cs.conn.SetNoDelay(false)
	cs.conn.Log().Info().Str("stream", name).Msg("play recorded")
}

// isRecorded reports whether streamID plays a recording now.
func (cs *clientSession) isRecorded(streamID uint32) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	lp := cs.plays[streamID]
	return lp != nil && lp.recorded
}

// relayRecorded writes one message of a recorded play; false if m is not one (its stream plays
// no recording: a message that arrives after the play stopped is dropped).
func (cs *clientSession) relayRecorded(typ uint8, streamID, ts uint32, payload []byte) bool {
	switch typ {
	case rtmpmsg.TypeAudio, rtmpmsg.TypeVideo, rtmpmsg.TypeDataAMF0:
	case rtmpmsg.TypeUserControl:
	default:
		return false
	}
	if !cs.isRecorded(streamID) {
		return typ != rtmpmsg.TypeDataAMF0 // data on another stream is the session's own
	}
	if typ == rtmpmsg.TypeUserControl {
		cs.relayStreamEvent(streamID, payload)
		return true
	}
	pkt := media.NewPacket(typ, ts, payload)
	if !cs.sendWaiting(streamID, pkt, ts) {
		pkt.Release()
	}
	return true
}

// relayStreamEvent writes a recorded play's StreamBegin, StreamEOF, StreamDry or
// StreamIsRecorded for its own stream; other events are not the play's to send.
func (cs *clientSession) relayStreamEvent(streamID uint32, payload []byte) {
	uc, err := rtmpmsg.ParseUserControl(payload)
	if err != nil {
		return
	}
	switch uc.Event {
	case rtmpmsg.EventStreamBegin, rtmpmsg.EventStreamEOF, rtmpmsg.EventStreamDry, rtmpmsg.EventStreamIsRecorded:
		_ = cs.conn.SendUserControl(uc.Event, streamID)
	}
}

// sendWaiting queues pkt for the client, waiting while its queue holds more than
// recordedBudget; false if the client left first (the reference is then the caller's).
func (cs *clientSession) sendWaiting(streamID uint32, pkt *media.Packet, ts uint32) bool {
	var t *time.Timer
	for !cs.conn.SendMedia(streamID, pkt, ts, recordedBudget) {
		if t == nil {
			t = time.NewTimer(recordedRetry)
			defer t.Stop()
		} else {
			t.Reset(recordedRetry)
		}
		select {
		case <-t.C:
		case <-cs.conn.Context().Done():
			return false
		}
	}
	return true
}
