package origin

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// player delivers a hub's media to one NetStream of a connection. Its methods are called by the
// hub's goroutine and only use the connection's thread-safe queue.
type player struct {
	conn     *rtmpconn.Conn
	streamID uint32
	name     string
	budget   int
}

// Deliver implements live.Subscriber.
func (p *player) Deliver(pkt *media.Packet, ts uint32) bool {
	return p.conn.SendMedia(p.streamID, pkt, ts, p.budget)
}

// Flush implements live.Flusher: the player's start goes out at once.
func (p *player) Flush() { p.conn.Flush() }

// Notify implements live.Subscriber: publish/unpublish notifications as FMS sends them.
func (p *player) Notify(ev live.Event) {
	var code, desc string
	switch ev.Kind {
	case live.EventPublishNotify:
		code, desc = "NetStream.Play.PublishNotify", p.name+" is now published."
	case live.EventUnpublishNotify:
		code, desc = "NetStream.Play.UnpublishNotify", p.name+" is now unpublished."
	default:
		return
	}
	_ = p.conn.SendStatus(p.streamID, rtmpconn.StatusInfo("status", code, desc,
		amf.Prop{Key: "details", Value: p.name}, amf.Prop{Key: "clientid", Value: p.conn.ID()}))
}

// CutOff implements live.Subscriber: a player that stayed behind is disconnected.
func (p *player) CutOff(reason error) {
	p.conn.Log().Warn().Str("stream", p.name).Err(reason).Msg("player cut off: too slow")
	p.conn.Close(reason)
}

// onPlay starts a live play. Every start value plays live: recorded media is not served yet, and
// a live server answering start=0 with the live stream is what players expect (nginx-rtmp too).
func (s *session) onPlay(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.stream(streamID)
	if ns == nil {
		return nil
	}
	name, query := SplitStreamName(argString(cmd.Args, 0))
	reset := argBool(cmd.Args, 3, true)
	ns.stopPlay()
	if name == "" {
		return s.status(streamID, "error", "NetStream.Play.StreamNotFound", "No stream name given.", name)
	}
	ref := scripting.StreamRef{Name: name, Query: query}
	if ok, info := s.askApp(func(v func(bool, *amf.Object)) { s.js.Play(ref, v) }); !ok {
		return s.statusFrom(streamID, info, "NetStream.Play.Failed", "The application refused to play "+name+".", name)
	}
	// Corked: Play.Start leaves once the subscription is in the hub, so that a client that has
	// it gets everything published after it (data messages are not cached for late joiners).
	s.conn.Cork()
	if err := s.sendPlayStart(streamID, name, reset); err != nil {
		s.conn.Uncork()
		return err
	}
	pl := &player{conn: s.conn, streamID: streamID, name: name, budget: s.srv.cfg.Limits.PlayerQueueBytes}
	sub, err := s.inst.hub.Subscribe(name, pl)
	s.conn.Uncork()
	if err != nil {
		return s.status(streamID, "error", "NetStream.Play.Failed", err.Error(), name)
	}
	ns.play, ns.playName, ns.sub = pl, name, sub
	s.conn.SetNoDelay(false) // a player: let the kernel coalesce media segments (see SetNoDelay)
	s.conn.Log().Info().Str("stream", name).Msg("play")
	return nil
}

// sendPlayStart sends what players need before the first frame (netstream.PlayStart).
func (s *session) sendPlayStart(streamID uint32, name string, reset bool) error {
	for _, m := range netstream.PlayStart(name, reset, s.conn.ObjectEncoding() == 3) {
		var err error
		switch m.Kind {
		case netstream.StreamBegin:
			err = s.conn.SendUserControl(rtmpmsg.EventStreamBegin, streamID)
		case netstream.Status:
			err = s.status(streamID, m.Level, m.Code, m.Description, name)
		case netstream.Data:
			err = s.conn.SendMessage(streamID, m.Type, 0, m.Payload)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (ns *netStream) stopPlay() {
	if ns.sub == nil {
		return
	}
	ns.sub.Close()
	ns.sub, ns.play = nil, nil
	_ = ns.s.conn.SendUserControl(rtmpmsg.EventStreamEOF, ns.id)
	_ = ns.s.status(ns.id, "status", "NetStream.Play.Stop", "Stopped playing "+ns.playName+".", ns.playName)
}

func (s *session) onPause(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.streams[streamID]
	if ns == nil || ns.sub == nil {
		return nil
	}
	pause := argBool(cmd.Args, 0, true)
	ns.sub.Pause(pause)
	if pause {
		return s.status(streamID, "status", "NetStream.Pause.Notify", "Pausing "+ns.playName+".", ns.playName)
	}
	return s.status(streamID, "status", "NetStream.Unpause.Notify", "Unpausing "+ns.playName+".", ns.playName)
}

func (s *session) onSeek(streamID uint32, _ *rtmpmsg.Command) error {
	ns := s.streams[streamID]
	if ns == nil {
		return nil
	}
	return s.status(streamID, "status", "NetStream.Seek.Notify", "Seeking "+ns.playName+" (live: no effect).", ns.playName)
}

func (s *session) onReceiveAudio(streamID uint32, cmd *rtmpmsg.Command) error {
	if ns := s.streams[streamID]; ns != nil && ns.sub != nil {
		ns.sub.SetReceiveAudio(argBool(cmd.Args, 0, true))
	}
	return nil
}

func (s *session) onReceiveVideo(streamID uint32, cmd *rtmpmsg.Command) error {
	if ns := s.streams[streamID]; ns != nil && ns.sub != nil {
		ns.sub.SetReceiveVideo(argBool(cmd.Args, 0, true))
	}
	return nil
}

// HandleMedia implements rtmpconn.Handler: a publisher's audio/video goes to the hub, shared by
// every player from here on.
func (s *session) HandleMedia(_ *rtmpconn.Conn, streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	ns := s.streams[streamID]
	if ns == nil || ns.pub == nil || len(payload) == 0 {
		return nil
	}
	ns.pub.Write(media.NewPacket(typeID, ts, payload))
	return nil
}

// HandleData implements rtmpconn.Handler: @setDataFrame onMetaData becomes the stream's
// metadata (sent to players as onMetaData, without @setDataFrame); other data messages of a
// publisher are relayed to its players.
func (s *session) HandleData(_ *rtmpconn.Conn, streamID uint32, ts uint32, d *rtmpmsg.Data) error {
	ns := s.streams[streamID]
	if ns == nil || ns.pub == nil {
		return nil
	}
	name, args := d.Name, d.Args
	switch name {
	case "@setDataFrame":
		if len(args) == 0 {
			return nil
		}
		name, _ = args[0].(string)
		args = args[1:]
	case "@clearDataFrame":
		ns.pub.SetMetadata(nil)
		return nil
	}
	var e amf.Encoder
	payload, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		return nil // not re-encodable: drop it, the stream goes on
	}
	pkt := media.NewPacket(rtmpmsg.TypeDataAMF0, ts, payload)
	if name == "onMetaData" {
		ns.pub.SetMetadata(pkt)
		return nil
	}
	ns.pub.Write(pkt)
	return nil
}
