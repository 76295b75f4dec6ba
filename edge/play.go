package edge

import (
	"bytes"
	"sync"

	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// pulled is one origin stream this edge pulls on one trunk channel and republishes into a local
// hub, from which every local viewer plays: the origin sends each message once per edge.
type pulled struct {
	key     string // instance + "\x00" + stream
	ch      uint32
	hub     *live.Hub
	pub     *live.Publication
	viewers int
}

// Kick implements live.Publisher: nothing else publishes into the edge's hubs.
func (*pulled) Kick(error) {}

// streams is a trunk's set of pulled streams and local hubs (one hub per app instance).
type streams struct {
	mu     sync.Mutex
	byKey  map[string]*pulled
	byChan map[uint32]*pulled
	hubs   map[string]*live.Hub
	closed bool
}

func newStreams() *streams {
	return &streams{byKey: map[string]*pulled{}, byChan: map[uint32]*pulled{}, hubs: map[string]*live.Hub{}}
}

// play attaches a local viewer to inst/name, subscribing the trunk to the stream on the first.
func (st *trunkState) play(srv *Server, inst, name string, sub live.Subscriber) (*live.Subscription, *pulled, error) {
	s := st.streams
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, trunk.ErrClosed
	}
	key := inst + "\x00" + name
	p := s.byKey[key]
	if p == nil {
		hub := s.hubs[inst]
		if hub == nil {
			hub = live.NewHub(srv.cfg.Limits.ApplyJoin(live.Config{}), srv.log)
			s.hubs[inst] = hub
		}
		p = &pulled{key: key, ch: srv.newSessionID(), hub: hub}
		pub, err := hub.Publish(name, p)
		if err != nil {
			s.mu.Unlock()
			return nil, nil, err
		}
		p.pub = pub
		s.byKey[key], s.byChan[p.ch] = p, p
		_ = st.conn.Send(p.ch, trunk.StreamSubscribe{App: inst, Stream: name})
	}
	p.viewers++
	s.mu.Unlock()
	ls, err := p.hub.Subscribe(name, sub)
	if err != nil {
		st.stop(p)
		return nil, nil, err
	}
	return ls, p, nil
}

// stop detaches one viewer; the last one unsubscribes the trunk.
func (st *trunkState) stop(p *pulled) {
	s := st.streams
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.viewers--; p.viewers > 0 || s.byKey[p.key] != p {
		return // others still watch, or the origin already ended it (forget)
	}
	delete(s.byKey, p.key)
	delete(s.byChan, p.ch)
	p.pub.Close()
	_ = st.conn.Send(p.ch, trunk.StreamUnsubscribe{})
}

// onStreamFrame handles channel frames on the trunk's read goroutine: media goes into the local
// hub (which only queues), so the read loop never waits for a viewer.
func (st *trunkState) onStreamFrame(f trunk.Frame) {
	s := st.streams
	s.mu.Lock()
	p := s.byChan[f.ID]
	s.mu.Unlock()
	if p == nil {
		return
	}
	switch f.Kind {
	case trunk.KindStreamMedia:
		m, err := trunk.DecodeStreamMedia(f.Body)
		if err != nil || len(m.Payload) == 0 {
			return
		}
		pkt := media.NewPacket(m.Type, m.Timestamp, m.Payload)
		if m.Type == 18 && bytes.HasPrefix(m.Payload, onMetaData) {
			p.pub.SetMetadata(pkt)
			return
		}
		p.pub.Write(pkt)
	case trunk.KindStreamStatus:
		m, err := trunk.DecodeStreamStatus(f.Body)
		if err != nil {
			return
		}
		switch m.Code {
		case trunk.StreamEnded, trunk.StreamRejected, trunk.StreamNotFound:
			// The origin dropped the channel: forget it so that the next play subscribes anew;
			// the viewers attached now see the stream unpublished.
			st.log.Info().Uint16("code", m.Code).Str("description", m.Description).Msg("origin ended a pulled stream")
			st.forget(p)
		}
		// Published/unpublished: the local publication stays, so viewers keep their place.
	}
}

// forget drops a pulled stream the origin no longer serves.
func (st *trunkState) forget(p *pulled) {
	s := st.streams
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey[p.key] == p {
		delete(s.byKey, p.key)
	}
	delete(s.byChan, p.ch)
	p.pub.Close()
}

// onMetaData is the AMF0 name that marks a stream's metadata message.
var onMetaData = []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'}

// close ends every local publication when the trunk is gone: each viewer is told
// NetStream.Play.UnpublishNotify now (the hub notifies synchronously), and its session's
// NetConnection.Connect.Closed follows when the caller closes the sessions.
func (s *streams) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for key, p := range s.byKey {
		p.pub.Close()
		delete(s.byKey, key)
		delete(s.byChan, p.ch)
	}
	for _, h := range s.hubs {
		h.Close()
	}
}

// counts is the trunk's pulled streams and their local players, for metrics.
func (s *streams) counts() (pulled, players int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.byKey {
		pulled++
		players += p.viewers
	}
	return pulled, players
}
