package origin

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// netStream is one message stream of a connection (NetStream on the client): it publishes or
// plays at most one live stream at a time.
type netStream struct {
	id       uint32
	s        *session
	pub      *live.Publication
	pubName  string
	pubQuery string
	play     *player
	sub      *live.Subscription
	playName string
}

func (ns *netStream) close() {
	ns.stopPublish()
	ns.stopPlay()
}

func (s *session) onCreateStream(_ uint32, cmd *rtmpmsg.Command) error {
	if len(s.streams) >= s.srv.cfg.Limits.MaxStreamsPerConn {
		info := rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", "too many streams on this connection")
		return s.conn.SendCommand(0, "_error", cmd.TxnID, nil, info)
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
func (s *session) stream(id uint32) *netStream {
	if ns := s.streams[id]; ns != nil {
		return ns
	}
	if id == 0 || len(s.streams) >= s.srv.cfg.Limits.MaxStreamsPerConn {
		return nil
	}
	ns := &netStream{id: id, s: s}
	s.streams[id] = ns
	return ns
}

func (s *session) onDeleteStream(_ uint32, cmd *rtmpmsg.Command) error {
	id := uint32(argNumber(cmd.Args, 0, 0))
	if ns := s.streams[id]; ns != nil {
		ns.close()
		delete(s.streams, id)
	}
	return nil
}

func (s *session) onCloseStream(streamID uint32, _ *rtmpmsg.Command) error {
	if ns := s.streams[streamID]; ns != nil {
		ns.close()
	}
	return nil
}

func (s *session) onReleaseStream(_ uint32, cmd *rtmpmsg.Command) error {
	return s.answer(0, cmd, amf.Undefined{})
}

func (s *session) onFCPublish(_ uint32, cmd *rtmpmsg.Command) error {
	name, _ := SplitStreamName(argString(cmd.Args, 0))
	if err := s.answer(0, cmd, amf.Undefined{}); err != nil {
		return err
	}
	return s.conn.SendCommand(0, "onFCPublish", 0, nil, rtmpconn.StatusInfo("status", "NetStream.Publish.Start", name))
}

func (s *session) onFCUnpublish(_ uint32, cmd *rtmpmsg.Command) error {
	name, _ := SplitStreamName(argString(cmd.Args, 0))
	if err := s.answer(0, cmd, amf.Undefined{}); err != nil {
		return err
	}
	return s.conn.SendCommand(0, "onFCUnpublish", 0, nil, rtmpconn.StatusInfo("status", "NetStream.Unpublish.Success", name))
}

func (s *session) onFCSubscribe(_ uint32, cmd *rtmpmsg.Command) error {
	name, _ := SplitStreamName(argString(cmd.Args, 0))
	if err := s.answer(0, cmd, amf.Undefined{}); err != nil {
		return err
	}
	return s.conn.SendCommand(0, "onFCSubscribe", 0, nil, rtmpconn.StatusInfo("status", "NetStream.Play.Start", name))
}

// status sends a NetStream status with FMS's details and clientid fields.
func (s *session) status(streamID uint32, level, code, desc, name string) error {
	return s.conn.SendStatus(streamID, rtmpconn.StatusInfo(level, code, desc,
		amf.Prop{Key: "details", Value: name}, amf.Prop{Key: "clientid", Value: s.conn.ID()}))
}

func (s *session) onPublish(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.stream(streamID)
	if ns == nil {
		return fmt.Errorf("publish on invalid stream id %d", streamID)
	}
	name, query := SplitStreamName(argString(cmd.Args, 0))
	if name == "" {
		return s.status(streamID, "error", "NetStream.Publish.BadName", "No stream name given.", name)
	}
	if ns.pub != nil && ns.pubName == name { // Wirecast may publish twice on one stream
		return s.status(streamID, "status", "NetStream.Publish.Start", name+" is now published.", name)
	}
	ns.close()
	ref, claim := publishClaim(s.inst.hub, s.js, name, query)
	if ok, info := s.askApp(func(v func(bool, *amf.Object)) { s.js.Publish(ref, v) }); !ok {
		return s.statusFrom(streamID, info, "NetStream.Publish.BadName", "The application refused to publish "+name+".", name)
	}
	pub, err := s.inst.hub.PublishAs(name, &publisher{ns: ns}, claim)
	if err != nil && s.js != nil {
		s.js.Unpublish(ref)
	}
	if errors.Is(err, live.ErrBadName) {
		return s.status(streamID, "error", "NetStream.Publish.BadName", name+" is already being published.", name)
	}
	if err != nil {
		return s.status(streamID, "error", "NetStream.Publish.Failed", err.Error(), name)
	}
	ns.pub, ns.pubName, ns.pubQuery = pub, name, query
	s.conn.Log().Info().Str("stream", name).Str("query", logging.RedactQuery(query)).Str("type", argString(cmd.Args, 1)).Msg("publish")
	s.conn.Log().Debug().Str("stream", name).Str("query", query).Msg("publish query")
	if err := s.conn.SendUserControl(rtmpmsg.EventStreamBegin, streamID); err != nil {
		return err
	}
	return s.status(streamID, "status", "NetStream.Publish.Start", name+" is now published.", name)
}

func (ns *netStream) stopPublish() {
	if ns.pub == nil {
		return
	}
	ns.pub.Close()
	ns.pub = nil
	if ns.s.js != nil {
		ns.s.js.Unpublish(scripting.StreamRef{Name: ns.pubName, Query: ns.pubQuery})
	}
	ns.s.conn.Log().Info().Str("stream", ns.pubName).Msg("unpublish")
	_ = ns.s.status(ns.id, "status", "NetStream.Unpublish.Success", ns.pubName+" is now unpublished.", ns.pubName)
}

// publisher lets the hub take a name over from this session's stream when a new publisher
// replaces an idle one (a half-open encoder session): the old connection is closed.
type publisher struct{ ns *netStream }

func (p *publisher) Kick(reason error) {
	p.ns.s.conn.Log().Info().Str("stream", p.ns.pubName).Err(reason).Msg("publisher replaced by a new one")
	p.ns.s.conn.Close(reason)
}

// publishClaim prepares a publish of name for the app and the hub, the same for direct and edge
// clients: the claim carries the client's publish identity, and when the name is held by a
// silent publisher of another identity, the app is asked about the takeover (ref.Takeover) and
// the claim may take over, which the app's accepting verdict then confirms (see live.Claim).
func publishClaim(hub *live.Hub, js *scripting.Client, name, query string) (scripting.StreamRef, live.Claim) {
	var claim live.Claim
	if js != nil {
		claim.Identity = js.PublishIdentity(query)
	}
	ref := scripting.StreamRef{Name: name, Query: query}
	ref.Takeover = hub.Holder(name, claim.Identity) == live.HolderOther
	claim.Takeover = ref.Takeover && js != nil
	return ref, claim
}
