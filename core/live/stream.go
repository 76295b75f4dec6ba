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
	urgent  []*Subscription // delivered a start: flushed once the lock is released (takeUrgent)

	pub       *Publication
	lastWrite time.Time
	lastTS    uint32 // timestamp of the last audio/video message
	hasVideo  bool
	meta      *media.Packet
	videoSeq  *media.Packet
	audioSeq  *media.Packet
	gop       gopCache
	subs      []*Subscription
	gapWait   bool // after MarkGap: no video until the next keyframe

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
	st.gapWait = false
}

// Publication is a publisher's handle on its stream.
type Publication struct {
	st       *stream
	pub      Publisher
	identity string // Claim.Identity of the publish that made it
	closed   bool   // guarded by st.mu
}

// BytesIn is the payload bytes the stream has taken in since it was made (across its
// publishers: a caller measures a publication by the difference).
func (pb *Publication) BytesIn() uint64 {
	pb.st.mu.Lock()
	defer pb.st.mu.Unlock()
	return pb.st.bytesIn
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
	if pb.closed {
		st.mu.Unlock()
		if p != nil {
			p.Release()
		}
		return
	}
	setPacket(&st.meta, p)
	if p != nil {
		for _, s := range st.subs {
			s.offer(p, st.lastTS, st)
		}
	}
	urgent := st.takeUrgent()
	st.mu.Unlock()
	flush(urgent)
}

// Write publishes one audio, video or data message; the hub takes over the caller's reference.
// It never blocks on subscribers, and writes to none of them under the stream's lock: they
// queue the message (an RTMP player's connection writes it on its media tick), and a player
// whose start it is gets flushed once the lock is released (Flusher).
func (pb *Publication) Write(p *media.Packet) {
	st := pb.st
	st.mu.Lock()
	if pb.closed || st.dropForGap(p) {
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
	urgent := st.takeUrgent()
	st.mu.Unlock()
	p.Release()
	flush(urgent)
	for _, s := range cut {
		st.log.Warn().Uint64("dropped", s.drops).Msg("subscriber cut off: it stayed behind the live stream")
		s.sub.CutOff(ErrTooSlow)
	}
}

// markUrgent lists s for a flush once the stream's lock is released (s delivered a start).
func (st *stream) markUrgent(s *Subscription) {
	if s.flusher != nil && !s.flushListed {
		s.flushListed = true
		st.urgent = append(st.urgent, s)
	}
}

// takeUrgent hands over the subscribers to flush (under the lock; nil when none).
func (st *stream) takeUrgent() []*Subscription {
	l := st.urgent
	st.urgent = nil
	for _, s := range l {
		s.flushListed = false
	}
	return l
}

// flush writes the starts delivered to l (without the stream's lock).
func flush(l []*Subscription) {
	for _, s := range l {
		s.flusher.Flush()
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
