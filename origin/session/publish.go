package session

import (
	"errors"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/record"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// AppVerdictWait bounds the wait for an app's publish/play verdict (its handler budget is far
// shorter; this only protects the session from an engine that never answers).
const AppVerdictWait = 30 * time.Second

// publishing is a NetStream's accepted publish. It is the hub's Publisher: a newer publisher
// that takes the name over closes this client.
type publishing struct {
	s    *Session
	pub  *live.Publication
	ref  scripting.StreamRef
	name string
	// since is when the publish started, and startBytes the stream's bytes then (events'
	// durations and byte counts).
	since      time.Time
	startBytes uint64
	// rec is the publish's recording (record, append, appendWithGap), nil for live.
	rec *record.Recorder
}

// Kick implements live.Publisher.
func (p *publishing) Kick(reason error) {
	p.s.t.Log().Info().Str("stream", p.name).Err(reason).Msg("publisher replaced by a new one")
	p.s.t.Kill(reason)
}

func (s *Session) onPublish(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.stream(streamID)
	if ns == nil {
		return nil // more streams than allowed: ignored, as a play on one is
	}
	name, query := SplitStreamName(argString(cmd.Args, 0))
	if name == "" {
		return s.refuse(streamID, nil, "NetStream.Publish.BadName", "No stream name given.", name)
	}
	publishType := argString(cmd.Args, 1)
	name, reason, ok := s.authorizePublish(name, query, publishType)
	if !ok {
		return s.refuse(streamID, nil, "NetStream.Publish.BadName", reason, name)
	}
	plan, code, reason := s.planRecording(name, query, s.recordTypeOf(publishType))
	if code != "" {
		return s.refuse(streamID, nil, code, reason, name)
	}
	if ns.pub != nil && ns.pub.name == name { // Wirecast may publish twice on one stream
		return s.t.StreamStatus(streamID, s.status("status", "NetStream.Publish.Start", name+" is now published.", name))
	}
	ns.close(true)
	ref, claim := publishClaim(s.hub, s.js, name, query)
	ref.Record = plan != nil
	if ok, info := s.askApp(func(v func(bool, *amf.Object)) { s.js.Publish(ref, v) }); !ok {
		return s.refuse(streamID, info, "NetStream.Publish.BadName", "The application refused to publish "+name+".", name)
	}
	p := &publishing{s: s, ref: ref, name: name, since: time.Now()}
	pub, err := s.hub.PublishAs(name, p, claim)
	if err != nil {
		s.js.Unpublish(ref)
		if errors.Is(err, live.ErrBadName) {
			return s.refuse(streamID, nil, "NetStream.Publish.BadName", name+" is already being published.", name)
		}
		return s.refuse(streamID, nil, "NetStream.Publish.Failed", err.Error(), name)
	}
	p.pub, ns.pub = pub, p
	if s.env.Plugins.HasEvents() {
		p.startBytes = pub.BytesIn()
	}
	s.emitStream(plugin.EvPublish, name, "NetStream.Publish.Start", time.Time{}, 0, 0)
	s.t.Log().Info().Str("stream", name).Str("query", logging.RedactQuery(query)).Str("type", publishType).Msg("publish")
	s.t.Log().Debug().Str("stream", name).Str("query", query).Msg("publish query")
	run := func() {}
	if plan != nil { // subscribed before the media can flow, started after Publish.Start
		run = s.startRecording(streamID, p, plan)
	}
	err = s.t.PublishStarted(streamID, name, pub, s.status("status", "NetStream.Publish.Start", name+" is now published.", name))
	run()
	return err
}

func (ns *netStream) stopPublish(notify bool) {
	p := ns.pub
	if p == nil {
		return
	}
	ns.pub = nil
	if p.rec != nil {
		p.rec.Stop() // Record.Stop before Unpublish.Success; the file closes behind
	}
	var st *amf.Object
	if notify {
		st = ns.s.status("status", "NetStream.Unpublish.Success", p.name+" is now unpublished.", p.name)
	}
	ns.s.t.PublishStopped(ns.id, st)
	var in uint64
	if ns.s.env.Plugins.HasEvents() {
		in = p.pub.BytesIn() - p.startBytes
	}
	p.pub.Close()
	ns.s.js.Unpublish(p.ref)
	ns.s.t.Log().Info().Str("stream", p.name).Msg("unpublish")
	ns.s.emitStream(plugin.EvUnpublish, p.name, "NetStream.Unpublish.Success", p.since, in, 0)
}

// authorizePublish applies the auth modules to a publish (the recording, ActRecord, is
// planRecording's): the name to publish, or the refusal's reason and false.
func (s *Session) authorizePublish(name, query, publishType string) (string, string, bool) {
	if publishType == "" {
		publishType = "live"
	}
	return s.authorizeStream(plugin.ActPublish, name, query, publishType)
}

// publishClaim prepares a publish of name for the app and the hub: the claim carries the
// client's publish identity, and when the name is held by a silent publisher of another
// identity, the app is asked about the takeover (ref.Takeover) and the claim may take over,
// which the app's accepting verdict then confirms (see live.Claim).
func publishClaim(hub *live.Hub, js *scripting.Client, name, query string) (scripting.StreamRef, live.Claim) {
	claim := live.Claim{Identity: js.PublishIdentity(query)}
	ref := scripting.StreamRef{Name: name, Query: query}
	ref.Takeover = hub.Holder(name, claim.Identity) == live.HolderOther
	claim.Takeover = ref.Takeover
	return ref, claim
}

// askApp asks the app about a publish or play and waits for the verdict on the session's
// goroutine.
func (s *Session) askApp(ask func(verdict func(bool, *amf.Object))) (bool, *amf.Object) {
	type answer struct {
		ok   bool
		info *amf.Object
	}
	ch := make(chan answer, 1)
	var once sync.Once
	ask(func(ok bool, info *amf.Object) { once.Do(func() { ch <- answer{ok, info} }) })
	t := time.NewTimer(AppVerdictWait)
	defer t.Stop()
	select {
	case a := <-ch:
		return a.ok, a.info
	case <-s.t.Done():
		return false, nil
	case <-s.js.Gone():
		return false, rtmpconn.StatusInfo("error", "NetStream.Failed", "the application instance stopped")
	case <-t.C:
		return false, rtmpconn.StatusInfo("error", "NetStream.Failed", "the application gave no decision in time")
	}
}

// WriteData handles a publisher's data message, whatever carried it: @setDataFrame onMetaData
// (or a bare onMetaData) becomes the stream's metadata, sent to players as onMetaData;
// @clearDataFrame clears it; other data messages are relayed to the players.
func WriteData(pub *live.Publication, ts uint32, d *rtmpmsg.Data) {
	name, args := d.Name, d.Args
	switch name {
	case "@setDataFrame":
		if len(args) == 0 {
			return
		}
		name, _ = args[0].(string)
		args = args[1:]
	case "@clearDataFrame":
		pub.SetMetadata(nil)
		return
	}
	var e amf.Encoder
	payload, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		return // not re-encodable: dropped, the stream goes on
	}
	pkt := media.NewPacket(rtmpmsg.TypeDataAMF0, ts, payload)
	if name == "onMetaData" {
		pub.SetMetadata(pkt)
		return
	}
	pub.Write(pkt)
}

// Publication returns what streamID publishes (nil if nothing): a direct transport's media
// goes there.
func (s *Session) Publication(streamID uint32) *live.Publication {
	if ns := s.streams[streamID]; ns != nil && ns.pub != nil {
		return ns.pub.pub
	}
	return nil
}
