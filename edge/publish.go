package edge

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// localPublish is a client's publish through the edge that the app accepted: its media goes to
// the origin on its own trunk channel.
type localPublish struct {
	name string
	ch   uint32
	out  *publishOut // made by the first media message; the client's read goroutine's
}

// startPublish opens the channel of an accepted publish before the status reaches the client:
// its media, sent after it, then finds the channel open.
func (cs *clientSession) startPublish(streamID uint32, name string) {
	cs.stopPublish(streamID)
	lp := &localPublish{name: name, ch: cs.srv.newSessionID()}
	cs.mu.Lock()
	if cs.pubs == nil {
		cs.pubs = map[uint32]*localPublish{}
	}
	cs.pubs[streamID] = lp
	cs.mu.Unlock()
	_ = cs.st.conn.Send(lp.ch, trunk.StreamPublish{Session: cs.id, StreamID: streamID, App: cs.key, Stream: name, Mode: "live"})
}

// publishing reports whether the client has a publish open.
func (cs *clientSession) publishing() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.pubs) > 0
}

func (cs *clientSession) publishChannel(streamID uint32) uint32 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if lp := cs.pubs[streamID]; lp != nil {
		return lp.ch
	}
	return 0
}

// HandleMedia implements rtmpconn.Handler: a publisher's audio/video goes to the origin. The one
// copy is from the connection's reused read buffer into a pooled packet, which the trunk's
// writer references until written. A full trunk media queue drops it, the edge skips video to
// the next keyframe and marks the gap, so the origin's players resume at that keyframe; the
// publisher gets NetStream.Play.InsufficientBW (see publishOut).
func (cs *clientSession) HandleMedia(_ *rtmpconn.Conn, streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	cs.mu.Lock()
	lp := cs.pubs[streamID]
	if lp != nil && lp.out == nil {
		lp.out = newPublishOut(cs, streamID, lp)
	}
	cs.mu.Unlock()
	if lp == nil || lp.out == nil || len(payload) == 0 {
		return nil
	}
	lp.out.send(media.NewPacket(typeID, ts, payload))
	return nil
}

// HandleData implements rtmpconn.Handler: a publisher's data messages go to the origin as the
// client sent them (re-encoded as AMF0); the origin's session decides what they mean
// (@setDataFrame onMetaData becomes the stream's metadata).
func (cs *clientSession) HandleData(_ *rtmpconn.Conn, streamID uint32, ts uint32, d *rtmpmsg.Data) error {
	ch := cs.publishChannel(streamID)
	if ch == 0 {
		return nil
	}
	var e amf.Encoder
	p, err := rtmpmsg.AppendData(nil, &e, d.Name, d.Args...)
	if err != nil {
		return nil // not re-encodable: dropped, the stream goes on
	}
	_ = cs.st.conn.SendMedia(ch, trunk.StreamMedia{Type: rtmpmsg.TypeDataAMF0, Timestamp: ts, Payload: p})
	return nil
}

// stopPublish stops sending a publish's media; the origin's session has ended the publish.
func (cs *clientSession) stopPublish(streamID uint32) {
	cs.mu.Lock()
	lp := cs.pubs[streamID]
	delete(cs.pubs, streamID)
	cs.mu.Unlock()
	if lp != nil {
		_ = cs.st.conn.Send(lp.ch, trunk.StreamUnsubscribe{})
	}
}
