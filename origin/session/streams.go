package session

import (
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// netStream is one message stream of a client (NetStream on the client): it publishes or plays
// at most one live stream at a time.
type netStream struct {
	id      uint32
	s       *Session
	pub     *publishing
	play    Play
	playing string
	// playSince is when the running play started (events' durations).
	playSince time.Time
}

// close ends what the stream publishes or plays; notify sends the statuses (not when the
// session itself is ending).
func (ns *netStream) close(notify bool) {
	ns.stopPublish(notify)
	ns.stopPlay(notify)
}

func (s *Session) onCreateStream(_ uint32, cmd *rtmpmsg.Command) error {
	if len(s.streams) >= s.env.MaxStreams {
		info := rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", "too many streams on this connection")
		return s.t.SendCommand(0, "_error", cmd.TxnID, info)
	}
	s.nextID++
	for s.streams[s.nextID] != nil || s.nextID == 0 {
		s.nextID++
	}
	s.streams[s.nextID] = &netStream{id: s.nextID, s: s}
	return s.answer(0, cmd, float64(s.nextID))
}

// stream returns the netStream a command addresses; commands on stream ids the client never
// created are tolerated (some clients publish on 1 without createStream's answer in hand).
func (s *Session) stream(id uint32) *netStream {
	if ns := s.streams[id]; ns != nil {
		return ns
	}
	if id == 0 || len(s.streams) >= s.env.MaxStreams {
		return nil
	}
	ns := &netStream{id: id, s: s}
	s.streams[id] = ns
	return ns
}

func (s *Session) onDeleteStream(_ uint32, cmd *rtmpmsg.Command) error {
	id := uint32(argNumber(cmd.Args, 0, 0))
	if ns := s.streams[id]; ns != nil {
		ns.close(true)
		delete(s.streams, id)
	}
	return nil
}

func (s *Session) onCloseStream(streamID uint32, _ *rtmpmsg.Command) error {
	if ns := s.streams[streamID]; ns != nil {
		ns.close(true)
	}
	return nil
}

func (s *Session) onReleaseStream(_ uint32, cmd *rtmpmsg.Command) error {
	return s.answer(0, cmd, amf.Undefined{})
}

// onFCPublish, onFCUnpublish and onFCSubscribe answer the Akamai/Limelight-era commands that
// encoders send around publish and play, as FMS does.
func (s *Session) onFCPublish(_ uint32, cmd *rtmpmsg.Command) error {
	return s.answerFC(cmd, "onFCPublish", "NetStream.Publish.Start")
}

func (s *Session) onFCUnpublish(_ uint32, cmd *rtmpmsg.Command) error {
	return s.answerFC(cmd, "onFCUnpublish", "NetStream.Unpublish.Success")
}

func (s *Session) onFCSubscribe(_ uint32, cmd *rtmpmsg.Command) error {
	return s.answerFC(cmd, "onFCSubscribe", "NetStream.Play.Start")
}

func (s *Session) answerFC(cmd *rtmpmsg.Command, event, code string) error {
	name, _ := SplitStreamName(argString(cmd.Args, 0))
	if err := s.answer(0, cmd, amf.Undefined{}); err != nil {
		return err
	}
	return s.t.SendCommand(0, event, 0, rtmpconn.StatusInfo("status", code, name))
}

// refuse sends the app's own status object when it gave one, else the default error status.
func (s *Session) refuse(streamID uint32, info *amf.Object, code, desc, name string) error {
	if info == nil || info.String("code") == "" {
		info = s.status("error", code, desc, name)
	}
	return s.t.StreamStatus(streamID, info)
}
