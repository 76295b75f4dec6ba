package origin

import (
	"sync"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/origin/session"
)

// trunkPub is an edge client's accepted publish: the hub publication exists from the app's
// verdict on (the session owns it); the edge then binds a channel to it (StreamPublish) and
// sends the media there.
type trunkPub struct {
	key pubKey
	pub *live.Publication
	ch  uint32 // 0 until bound
}

type pubKey struct{ session, stream uint32 }

// trunkPubs is a peer's publishes, by session stream and by channel. It is shared by the sessions'
// goroutines (publish verdicts, closes) and the read goroutine (media), hence the lock.
type trunkPubs struct {
	mu     sync.Mutex
	byKey  map[pubKey]*trunkPub
	byChan map[uint32]*trunkPub
}

// PublishStarted implements session.Transport: the publication waits for the edge's channel,
// which the edge binds (StreamPublish) when it gets the verdict.
func (ts *trunkSession) PublishStarted(streamID uint32, name string, pub *live.Publication, status *amf.Object) error {
	tp := &trunkPub{key: pubKey{ts.id, streamID}, pub: pub}
	pubs := &ts.p.pubs
	pubs.mu.Lock()
	pubs.byKey[tp.key] = tp
	pubs.mu.Unlock()
	ts.streamVerdict(trunk.StreamVerdict{StreamID: streamID, Op: trunk.OpPublishStart, Stream: name}, status)
	return nil
}

// PublishStopped implements session.Transport: the channel no longer feeds the publication.
func (ts *trunkSession) PublishStopped(streamID uint32, status *amf.Object) {
	pubs := &ts.p.pubs
	pubs.mu.Lock()
	if tp := pubs.byKey[pubKey{ts.id, streamID}]; tp != nil {
		delete(pubs.byKey, tp.key)
		if pubs.byChan[tp.ch] == tp {
			delete(pubs.byChan, tp.ch)
		}
	}
	pubs.mu.Unlock()
	if status != nil {
		ts.streamVerdict(trunk.StreamVerdict{StreamID: streamID, Op: trunk.OpPublishStop}, status)
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

// publishMedia writes an edge publisher's message into its hub (which only queues); a data
// message, which the edge forwards as the client sent it, is handled as a direct publisher's
// (session.WriteData: @setDataFrame onMetaData becomes the stream's metadata). A stream-gap (the
// edge dropped media of this publish) makes the publication wait for the next keyframe.
func (p *trunkPeer) publishMedia(f trunk.Frame) {
	p.pubs.mu.Lock()
	tp := p.pubs.byChan[f.ID]
	p.pubs.mu.Unlock()
	if tp == nil {
		return
	}
	if f.Kind == trunk.KindStreamGap {
		if _, err := trunk.DecodeStreamGap(f.Body); err == nil {
			tp.pub.MarkGap()
		}
		return
	}
	m, err := trunk.DecodeStreamMedia(f.Body)
	if err != nil || len(m.Payload) == 0 {
		return
	}
	if m.Type == rtmpmsg.TypeDataAMF0 || m.Type == rtmpmsg.TypeDataAMF3 {
		var dec amf.Decoder // data messages are rare: metadata, cue points
		if d, err := rtmpmsg.DecodeData(m.Type, m.Payload, &dec); err == nil {
			session.WriteData(tp.pub, m.Timestamp, &d)
		}
		return
	}
	tp.pub.Write(media.NewPacket(m.Type, m.Timestamp, m.Payload))
}

// unbindPublish: the edge's publisher stopped sending on this channel (closeStream, a new
// publish, the client left); the session ends the publish itself when it hears of it.
func (p *trunkPeer) unbindPublish(ch uint32) bool {
	p.pubs.mu.Lock()
	defer p.pubs.mu.Unlock()
	tp := p.pubs.byChan[ch]
	if tp == nil {
		return false
	}
	delete(p.pubs.byChan, ch)
	tp.ch = 0
	return true
}
