package edge

import (
	"errors"
	"strings"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// localPlay is one NetStream of a client playing from the edge's local hub.
type localPlay struct {
	name  string
	sub   *live.Subscription
	p     *pulled
	begun bool // StreamBegin sent
}

// localStreamCommand serves what the edge answers itself (NetStream controls of a local play);
// it records plays so that the origin's NetStream.Play.Start can start the local delivery.
func (cs *clientSession) localStreamCommand(streamID uint32, cmd *rtmpmsg.Command) bool {
	switch cmd.Name {
	case "play", "play2":
		name, _, _ := strings.Cut(argString(cmd.Args, 0), "?")
		cs.stopPlay(streamID)
		cs.mu.Lock()
		if cs.pending == nil {
			cs.pending = map[uint32]string{}
		}
		cs.pending[streamID] = name
		cs.mu.Unlock()
		return false // the app decides: forwarded
	case "publish":
		cs.notePublish(streamID, cmd)
		return false
	case "closeStream":
		cs.stopPlay(streamID)
		cs.stopPublish(streamID)
		return false // the origin ends the app's publish and answers Unpublish.Success
	case "deleteStream":
		if f, ok := argAt(cmd.Args, 0).(float64); ok {
			cs.stopPlay(uint32(f))
			cs.stopPublish(uint32(f))
		}
		return false
	case "pause", "pauseRaw", "receiveAudio", "receiveVideo":
		cs.control(streamID, cmd)
	case "seek":
	default:
		return false
	}
	return true
}

func (cs *clientSession) control(streamID uint32, cmd *rtmpmsg.Command) {
	cs.mu.Lock()
	var sub *live.Subscription
	if lp := cs.plays[streamID]; lp != nil {
		sub = lp.sub
	}
	cs.mu.Unlock()
	if sub == nil {
		return
	}
	switch cmd.Name {
	case "pause", "pauseRaw":
		on, _ := argAt(cmd.Args, 0).(bool)
		sub.Pause(on)
	case "receiveAudio":
		on, ok := argAt(cmd.Args, 0).(bool)
		sub.SetReceiveAudio(on || !ok)
	case "receiveVideo":
		on, ok := argAt(cmd.Args, 0).(bool)
		sub.SetReceiveVideo(on || !ok)
	}
}

func argAt(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

func argString(args []any, i int) string {
	s, _ := argAt(args, i).(string)
	return s
}

// playStatus looks at an onStatus the origin sends on a stream with a pending play: StreamBegin
// goes out before the first Play status (FMS's order); true means Play.Start, i.e. the app
// accepted and the local delivery must start once the status is relayed.
func (cs *clientSession) playStatus(streamID uint32, cmd *rtmpmsg.Command) bool {
	info, _ := argAt(cmd.Args, 0).(*amf.Object)
	if info == nil {
		return false
	}
	code := info.String("code")
	cs.mu.Lock()
	name, ok := cs.pending[streamID]
	lp := cs.plays[streamID]
	if ok && lp == nil && (code == "NetStream.Play.Reset" || code == "NetStream.Play.Start") {
		lp = &localPlay{name: name}
		if cs.plays == nil {
			cs.plays = map[uint32]*localPlay{}
		}
		cs.plays[streamID] = lp
	}
	begin := lp != nil && !lp.begun
	if begin {
		lp.begun = true
	}
	if code == "NetStream.Play.Start" || strings.HasPrefix(code, "NetStream.Play.Failed") || code == "NetStream.Play.StreamNotFound" {
		delete(cs.pending, streamID)
	}
	cs.mu.Unlock()
	if begin {
		_ = cs.conn.SendUserControl(rtmpmsg.EventStreamBegin, streamID)
	}
	return ok && code == "NetStream.Play.Start"
}

// sendPlayStartData sends the data messages that end the play-start sequence
// (netstream.PlayStart) right after Play.Start, before the local delivery starts: the origin's
// own copies travel on the session's trunk channel while the media comes on the stream's, so
// relayed they could reach the client after the first frames.
func (cs *clientSession) sendPlayStartData(streamID uint32) {
	for _, m := range netstream.PlayStart("", false, cs.conn.ObjectEncoding() == 3) {
		if m.Kind == netstream.Data {
			_ = cs.conn.SendMessage(streamID, m.Type, 0, m.Payload)
		}
	}
}

// ownPlayStartData reports whether d, from the origin, is one of the play-start data messages
// the edge sent itself on this stream (sendPlayStartData): the origin's copy is dropped. An
// origin still sends them, for edges that relay them.
func (cs *clientSession) ownPlayStartData(streamID uint32, d *rtmpmsg.Data) bool {
	switch d.Name {
	case "|RtmpSampleAccess":
	case "onStatus":
		if o, _ := argAt(d.Args, 0).(*amf.Object); o == nil || o.String("code") != "NetStream.Data.Start" {
			return false
		}
	default:
		return false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.plays[streamID] != nil
}

// startPlay attaches the accepted play to the local hub (pulling the stream on first use).
func (cs *clientSession) startPlay(streamID uint32) {
	cs.mu.Lock()
	lp := cs.plays[streamID]
	cs.mu.Unlock()
	if lp == nil || lp.sub != nil {
		return
	}
	v := &viewer{conn: cs.conn, streamID: streamID, name: lp.name, budget: 4 << 20}
	sub, p, err := cs.st.play(cs.srv, cs.key, lp.name, v)
	if errors.Is(err, live.ErrClosed) || errors.Is(err, trunk.ErrClosed) {
		// The trunk went down while this play was attaching: the client already has Play.Start,
		// so it is told what the attached players are, that the stream ended (its session is
		// being closed with NetConnection.Connect.Closed).
		v.Notify(live.Event{Kind: live.EventUnpublishNotify})
		return
	}
	if err != nil {
		_ = cs.conn.SendStatus(streamID, rtmpconn.StatusInfo("error", "NetStream.Play.Failed", err.Error()))
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
	cs.conn.Log().Info().Str("stream", lp.name).Msg("play")
}

// stopPlay ends a local play (closeStream, deleteStream, a new play on the same stream).
func (cs *clientSession) stopPlay(streamID uint32) {
	cs.mu.Lock()
	lp := cs.plays[streamID]
	delete(cs.plays, streamID)
	delete(cs.pending, streamID)
	var sub *live.Subscription
	if lp != nil {
		sub = lp.sub
	}
	cs.mu.Unlock()
	if sub == nil {
		return
	}
	sub.Close()
	cs.st.stop(lp.p)
	_ = cs.conn.SendUserControl(rtmpmsg.EventStreamEOF, streamID)
	_ = cs.conn.SendStatus(streamID, rtmpconn.StatusInfo("status", "NetStream.Play.Stop", "Stopped playing "+lp.name+".",
		amf.Prop{Key: "details", Value: lp.name}, amf.Prop{Key: "clientid", Value: cs.conn.ID()}))
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
