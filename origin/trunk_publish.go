package origin

import (
	"bytes"
	"sync"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/scripting"
)

// trunkPub is an edge client's accepted publish: the hub publication exists from the app's
// verdict on; the edge then binds a channel to it (StreamPublish) and sends the media there.
type trunkPub struct {
	ts   *trunkSession
	key  pubKey
	inst *instance
	pub  *live.Publication
	ref  scripting.StreamRef
	ch   uint32 // 0 until bound
}

type pubKey struct{ session, stream uint32 }

// trunkPubs is a peer's publishes, by session stream and by channel. It is shared by the sessions'
// goroutines (publish verdicts, closes) and the read goroutine (media), hence the lock.
type trunkPubs struct {
	mu     sync.Mutex
	byKey  map[pubKey]*trunkPub
	byChan map[uint32]*trunkPub
}

// Kick implements live.Publisher: a newer publisher took the name over; the edge client is closed.
func (tp *trunkPub) Kick(reason error) {
	tp.ts.p.log.Info().Str("stream", tp.ref.Name).Err(reason).Msg("edge publisher replaced by a new one")
	tp.ts.Close("Closed", "publisher replaced")
}

// onPublish asks the app, then opens the hub publication the edge's channel will feed.
func (ts *trunkSession) onPublish(streamID uint32, cmd *rtmpmsg.Command) {
	name, query := SplitStreamName(argString(cmd.Args, 0))
	if name == "" {
		ts.streamStatus(streamID, nil, "error", "NetStream.Publish.BadName", "No stream name given.", name)
		return
	}
	ts.closePublish(streamID, true)
	inst, err := ts.p.srv.apps.acquire(ts.target)
	if err != nil {
		ts.streamStatus(streamID, nil, "error", "NetStream.Publish.Failed", err.Error(), name)
		return
	}
	ref, claim := publishClaim(inst.hub, ts.js, name, query)
	ok, info := ts.askApp(func(v func(bool, *amf.Object)) { ts.js.Publish(ref, v) })
	if !ok {
		ts.p.srv.apps.release(inst)
		ts.streamStatus(streamID, info, "error", "NetStream.Publish.BadName", "The application refused to publish "+name+".", name)
		return
	}
	tp := &trunkPub{ts: ts, key: pubKey{ts.id, streamID}, inst: inst, ref: ref}
	if tp.pub, err = inst.hub.PublishAs(name, tp, claim); err != nil {
		ts.p.srv.apps.release(inst)
		ts.js.Unpublish(ref)
		ts.streamStatus(streamID, nil, "error", "NetStream.Publish.BadName", name+" is already being published.", name)
		return
	}
	pubs := &ts.p.pubs
	pubs.mu.Lock()
	pubs.byKey[tp.key] = tp
	pubs.mu.Unlock()
	ts.p.log.Info().Str("edge", ts.p.edgeID).Uint32("session", ts.id).Str("stream", name).Msg("publish")
	ts.streamStatus(streamID, nil, "status", "NetStream.Publish.Start", name+" is now published.", name)
}

// closePublish ends a session stream's publish (a new publish on it, or the session's end).
func (ts *trunkSession) closePublish(streamID uint32, notify bool) {
	pubs := &ts.p.pubs
	pubs.mu.Lock()
	tp := pubs.byKey[pubKey{ts.id, streamID}]
	if tp != nil {
		delete(pubs.byKey, tp.key)
		delete(pubs.byChan, tp.ch)
	}
	pubs.mu.Unlock()
	if tp == nil {
		return
	}
	tp.pub.Close()
	ts.js.Unpublish(tp.ref)
	ts.p.srv.apps.release(tp.inst)
	if notify {
		ts.streamStatus(streamID, nil, "status", "NetStream.Unpublish.Success", tp.ref.Name+" is now unpublished.", tp.ref.Name)
	}
}

// closeAllPublishes runs when the session ends.
func (ts *trunkSession) closeAllPublishes() {
	pubs := &ts.p.pubs
	var ids []uint32
	pubs.mu.Lock()
	for k := range pubs.byKey {
		if k.session == ts.id {
			ids = append(ids, k.stream)
		}
	}
	pubs.mu.Unlock()
	for _, id := range ids {
		ts.closePublish(id, false)
	}
}

// bindPublish serves StreamPublish on the read goroutine: the channel now feeds the publication.
func (p *trunkPeer) bindPublish(f trunk.Frame) error {
	m, err := trunk.DecodeStreamPublish(f.Body)
	if err != nil {
		return err
	}
	p.pubs.mu.Lock()
	tp := p.pubs.byKey[pubKey{m.Session, m.StreamID}]
	if tp != nil && tp.ch == 0 && p.pubs.byChan[f.ID] == nil {
		tp.ch = f.ID
		p.pubs.byChan[f.ID] = tp
	}
	p.pubs.mu.Unlock()
	if tp == nil || tp.ch != f.ID {
		return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamRejected, Description: "no accepted publish for this session stream"})
	}
	return p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamOK, Description: m.Stream})
}

// publishMedia writes an edge publisher's message into its hub (which only queues).
func (p *trunkPeer) publishMedia(f trunk.Frame) {
	p.pubs.mu.Lock()
	tp := p.pubs.byChan[f.ID]
	p.pubs.mu.Unlock()
	if tp == nil {
		return
	}
	m, err := trunk.DecodeStreamMedia(f.Body)
	if err != nil || len(m.Payload) == 0 {
		return
	}
	pkt := media.NewPacket(m.Type, m.Timestamp, m.Payload)
	if m.Type == rtmpmsg.TypeDataAMF0 && bytes.HasPrefix(m.Payload, onMetaDataName) {
		tp.pub.SetMetadata(pkt)
		return
	}
	tp.pub.Write(pkt)
}

// onMetaDataName is the AMF0 string "onMetaData" that starts a metadata message.
var onMetaDataName = []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'}

// unbindPublish: the edge's publisher stopped sending on this channel (closeStream, left).
func (p *trunkPeer) unbindPublish(ch uint32) bool {
	p.pubs.mu.Lock()
	tp := p.pubs.byChan[ch]
	p.pubs.mu.Unlock()
	if tp == nil {
		return false
	}
	tp.ts.closePublish(tp.key.stream, true)
	return true
}
