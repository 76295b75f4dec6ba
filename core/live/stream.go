package live

import (
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// stream is one named live stream; every field is guarded by mu.
type stream struct {
	hub     *Hub
	name    string
	log     zerolog.Logger
	mu      streamMutex
	removed bool
	batch   *media.FlushBatch // the producer's batch while WriteBatch runs, else nil

	pub       *Publication
	lastWrite time.Time
	lastTS    uint32 // timestamp of the last audio/video message
	hasVideo  bool
	meta      *media.Packet
	videoSeq  *media.Packet
	audioSeq  *media.Packet
	gop       gopCache
	subs      []*Subscription

	bytesIn    uint64
	messagesIn uint64
	drops      uint64
	dropsShown uint64
	lastReport time.Time
}

func setPacket(slot **media.Packet, p *media.Packet) {
	if *slot != nil {
		(*slot).Release()
	}
	*slot = p
}

func (st *stream) clearCaches() {
	setPacket(&st.meta, nil)
	setPacket(&st.videoSeq, nil)
	setPacket(&st.audioSeq, nil)
	st.gop.clear()
	st.hasVideo = false
}

// Publication is a publisher's handle on its stream.
type Publication struct {
	st       *stream
	pub      Publisher
	identity string // Claim.Identity of the publish that made it
	closed   bool   // guarded by st.mu
}

// Close unpublishes. It is a no-op once the publication was replaced or the hub closed.
func (pb *Publication) Close() {
	st := pb.st
	st.mu.Lock()
	if pb.closed {
		st.mu.Unlock()
		return
	}
	pb.closed = true
	st.pub = nil
	st.clearCaches()
	for _, s := range st.subs {
		s.sub.Notify(Event{Kind: EventUnpublishNotify, Name: st.name})
	}
	st.mu.Unlock()
	st.hub.removeIfIdle(st)
}

// SetMetadata replaces the stream's metadata (an onMetaData data message, without
// @setDataFrame); nil clears it. The hub takes over the caller's reference. Current players get
// the new metadata too.
func (pb *Publication) SetMetadata(p *media.Packet) {
	st := pb.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if pb.closed {
		if p != nil {
			p.Release()
		}
		return
	}
	setPacket(&st.meta, p)
	if p == nil {
		return
	}
	for _, s := range st.subs {
		s.offer(p, st.lastTS, st)
	}
}

// Write publishes one audio, video or data message; the hub takes over the caller's reference.
// It never blocks on subscribers.
func (pb *Publication) Write(p *media.Packet) { pb.WriteBatch(p, nil) }

// WriteBatch is Write for a producer that flushes its subscribers once per batch of messages
// (see media.FlushBatch): subscribers that implement BatchSubscriber queue the packet and join
// b instead of writing at once.
func (pb *Publication) WriteBatch(p *media.Packet, b *media.FlushBatch) {
	st := pb.st
	st.mu.Lock()
	st.batch = b

	if pb.closed {
		st.batch = nil
		st.mu.Unlock()
		p.Release()
		return
	}
	now := st.hub.cfg.Now()
	st.lastWrite = now
	st.bytesIn += uint64(len(p.Payload))
	st.messagesIn++
	if p.TypeID == 8 || p.TypeID == 9 {
		st.lastTS = p.Timestamp
	}
	st.cache(p)
	var cut []*Subscription
	for _, s := range st.subs {
		if s.offer(p, p.Timestamp, st) && now.Sub(s.skipSince) > st.hub.cfg.CutOffAfter {
			cut = append(cut, s)
		}
	}
	st.maybeReport(now)
	for _, s := range cut {
		st.removeSub(s)
	}
	st.batch = nil
	st.mu.Unlock()
	p.Release()
	for _, s := range cut {
		st.log.Warn().Uint64("dropped", s.drops).Msg("subscriber cut off: it stayed behind the live stream")
		s.sub.CutOff(ErrTooSlow)
	}
}

// cache keeps what a late joiner needs: sequence headers, and the GOPs of gopCache.
func (st *stream) cache(p *media.Packet) {
	switch {
	case p.TypeID != 8 && p.TypeID != 9:
		return
	case p.SeqHeader && p.TypeID == 9:
		st.hasVideo = true
		setPacket(&st.videoSeq, p.Retain())
		return
	case p.SeqHeader:
		setPacket(&st.audioSeq, p.Retain())
		return
	case p.TypeID == 9 && p.Keyframe:
		st.hasVideo = true
	}
	st.gop.add(p, st.lastTS)
}

func (st *stream) maybeReport(now time.Time) {
	if st.drops == st.dropsShown || now.Sub(st.lastReport) < st.hub.cfg.ReportEvery {
		return
	}
	st.log.Info().Uint64("dropped", st.drops-st.dropsShown).Uint64("messages_in", st.messagesIn).Int("subscribers", len(st.subs)).Msg("messages dropped for slow subscribers")
	st.dropsShown, st.lastReport = st.drops, now
}

func (st *stream) removeSub(s *Subscription) {
	for i, x := range st.subs {
		if x == s {
			last := len(st.subs) - 1
			st.subs[i] = st.subs[last]
			st.subs[last] = nil
			st.subs = st.subs[:last]
			break
		}
	}
	s.closed = true
}
