package edge

import (
	"errors"

	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// localPlay is one NetStream of a client playing from the edge's local hub, or a recording the
// origin serves (recorded.go).
type localPlay struct {
	name     string
	sub      *live.Subscription
	p        *pulled
	recorded bool
}

// onStreamVerdict performs what the origin's session decided about one of the client's
// NetStreams (trunk.StreamVerdict): the edge never reads a status to learn it. It runs on the
// trunk session's goroutine, corked, so that the client gets the verdict's messages and the
// step's own user control event in one write, and Play.Start before any media.
func (cs *clientSession) onStreamVerdict(v trunk.StreamVerdict) {
	cs.conn.Corked(func() { cs.performVerdict(v) })
}

func (cs *clientSession) performVerdict(v trunk.StreamVerdict) {
	switch v.Op {
	case trunk.OpPlayStart:
		cs.stopPlay(v.StreamID)
		recorded := v.Flags&trunk.StreamFlagRecorded != 0
		if recorded {
			_ = cs.conn.SendUserControl(rtmpmsg.EventStreamIsRecorded, v.StreamID)
		}
		_ = cs.conn.SendUserControl(rtmpmsg.EventStreamBegin, v.StreamID)
		cs.writeVerdict(v)
		if recorded {
			cs.startRecorded(v.StreamID, v.Stream)
		} else {
			cs.startPlay(v.StreamID, v.Stream)
		}
	case trunk.OpPlayStop:
		if cs.stopPlay(v.StreamID) && len(v.Messages) > 0 {
			_ = cs.conn.SendUserControl(rtmpmsg.EventStreamEOF, v.StreamID)
		}
		cs.writeVerdict(v)
	case trunk.OpPublishStart:
		cs.startPublish(v.StreamID, v.Stream)
		_ = cs.conn.SendUserControl(rtmpmsg.EventStreamBegin, v.StreamID)
		cs.writeVerdict(v)
	case trunk.OpPublishStop:
		cs.stopPublish(v.StreamID)
		cs.writeVerdict(v)
	case trunk.OpPause, trunk.OpReceiveAudio, trunk.OpReceiveVideo:
		cs.control(v.StreamID, v.Op, v.Flags&trunk.StreamFlagOn != 0)
	}
}

// writeVerdict writes a verdict's messages to the client as the origin encoded them (in the
// client's object encoding); the payloads are copied, the frame's body is not ours to keep.
func (cs *clientSession) writeVerdict(v trunk.StreamVerdict) {
	for _, m := range v.Messages {
		_ = cs.conn.SendMessage(v.StreamID, m.Type, 0, append([]byte(nil), m.Payload...))
	}
}

func (cs *clientSession) control(streamID uint32, op trunk.StreamOp, on bool) {
	cs.mu.Lock()
	var sub *live.Subscription
	if lp := cs.plays[streamID]; lp != nil {
		sub = lp.sub
	}
	cs.mu.Unlock()
	if sub == nil {
		return
	}
	switch op {
	case trunk.OpPause:
		sub.Pause(on)
	case trunk.OpReceiveAudio:
		sub.SetReceiveAudio(on)
	case trunk.OpReceiveVideo:
		sub.SetReceiveVideo(on)
	}
}

// startPlay attaches an accepted play to the local hub (pulling the stream on first use).
func (cs *clientSession) startPlay(streamID uint32, name string) {
	lp := &localPlay{name: name}
	cs.mu.Lock()
	if cs.plays == nil {
		cs.plays = map[uint32]*localPlay{}
	}
	cs.plays[streamID] = lp
	cs.mu.Unlock()
	v := &netstream.Player{Conn: cs.conn, StreamID: streamID, Name: name, Budget: 4 << 20}
	sub, p, err := cs.st.play(cs.srv, cs.key, name, v)
	if errors.Is(err, live.ErrClosed) || errors.Is(err, trunk.ErrClosed) {
		// The trunk went down while this play was attaching: the client already has Play.Start,
		// so it is told what the attached players are, that the stream ended (its session is
		// being closed with NetConnection.Connect.Closed).
		v.Notify(live.Event{Kind: live.EventUnpublishNotify})
		return
	}
	if err != nil {
		_ = cs.conn.SendStatus(streamID, netstream.StatusInfo("error", "NetStream.Play.Failed", err.Error(), name, cs.conn.ID()))
		return
	}
	cs.mu.Lock()
	current := cs.plays[streamID] == lp
	if current {
		lp.sub, lp.p = sub, p
	}
	cs.mu.Unlock()
	if !current { // stopped (or the client left) while attaching
		sub.Close()
		cs.st.stop(p)
		return
	}
	cs.conn.SetNoDelay(false)
	cs.conn.Log().Info().Str("stream", name).Msg("play")
}

// stopPlay ends a local play; false if the stream had none.
func (cs *clientSession) stopPlay(streamID uint32) bool {
	cs.mu.Lock()
	lp := cs.plays[streamID]
	delete(cs.plays, streamID)
	cs.mu.Unlock()
	if lp == nil || lp.sub == nil {
		return lp != nil
	}
	lp.sub.Close()
	cs.st.stop(lp.p)
	return true
}

// stopAll ends every local play when the client leaves.
func (cs *clientSession) stopAll() {
	cs.mu.Lock()
	var stops []*localPlay
	for _, lp := range cs.plays {
		if lp.sub != nil {
			stops = append(stops, lp)
		}
	}
	cs.plays = nil
	cs.mu.Unlock()
	for _, lp := range stops {
		lp.sub.Close()
		cs.st.stop(lp.p)
	}
}
