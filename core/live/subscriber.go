package live

import (
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

// streamMutex is the per-stream lock (a named type so the ownership rule reads in one place).
type streamMutex = sync.Mutex

// Subscription is a subscriber's handle on its stream. Its state is guarded by the stream's lock.
type Subscription struct {
	st      *stream
	sub     Subscriber
	flusher Flusher // sub, when its deliveries wait for a flush

	flushListed bool // in the stream's urgent list

	closed    bool
	paused    bool
	noAudio   bool
	noVideo   bool
	wantKey   bool      // deliver no video until a keyframe
	joinLeft  int       // video frames from the first keyframe on still written at once (see offer)
	skipping  bool      // the queue refused media: skip everything until the next keyframe
	skipSince time.Time // when skipping began (zero when not skipping)
	drops     uint64
	bytes     uint64 // payload bytes delivered (events' per-play byte counts)

	started bool  // a message has been delivered in this publisher epoch
	rebase  bool  // the next delivered message re-anchors the offset (new publisher)
	offset  int64 // added to the publisher's timestamps
	lastTS  uint32
	anyTS   bool // lastTS is meaningful
}

// Subscribe adds sub to the stream name. Before any publisher it waits (and gets
// EventPublishNotify when one starts); with a live publisher it gets metadata, video and audio
// sequence headers and the cached GOPs at once (see gopCache: enough video frames for ffmpeg to
// start at once, when cached), so playback starts on a keyframe. The burst is queued under the
// stream's lock and flushed (Flusher) after it is released.
func (h *Hub) Subscribe(name string, sub Subscriber) (*Subscription, error) {
	st, err := h.lockStream(name)
	if err != nil {
		return nil, err
	}
	s := &Subscription{st: st, sub: sub, wantKey: true, joinLeft: h.cfg.JoinVideoFrames}
	s.flusher, _ = sub.(Flusher)
	if st.pub != nil {
		// the headers carry the timestamp the player starts at, so its clock does not jump
		burst := st.gop.joinBurst()
		start := st.lastTS
		if len(burst) > 0 {
			start = burst[0].Timestamp
		}
		// metadata at 0, as in an FLV file: ffmpeg's FLV demuxer turns an onMetaData with a
		// non-zero timestamp into a subtitle stream, which then confuses `-c copy` outputs
		if st.meta != nil {
			s.offer(st.meta, 0, st)
		}
		for _, p := range [...]*media.Packet{st.videoSeq, st.audioSeq} {
			if p != nil {
				s.offer(p, start, st)
			}
		}
		for _, p := range burst {
			s.offer(p, p.Timestamp, st)
		}
	}
	st.subs = append(st.subs, s)
	urgent := st.takeUrgent()
	st.mu.Unlock()
	flush(urgent) // the burst was only queued under the lock
	return s, nil
}

// newEpoch prepares for a new publisher: its timestamps restart, ours must not go backwards.
func (s *Subscription) newEpoch() {
	s.rebase = s.anyTS
	s.wantKey = true
}

// rebaseAfter is the backward jump of a publisher's audio/video timestamps (an encoder restarting
// its clock) beyond which the offset is moved rather than the timestamps clamped: clamping would
// freeze the player's clock until the publisher caught up.
const rebaseAfter = 3000

// mapTS turns a publisher timestamp into this subscriber's, never going backwards. Data
// messages (metadata, cue points) are only clamped: their timestamps are often 0.
func (s *Subscription) mapTS(ts uint32, media bool) uint32 {
	if s.rebase && media {
		s.offset = int64(s.lastTS) - int64(ts)
		s.rebase = false
	}
	out := uint32(int64(ts) + s.offset)
	if back := int32(s.lastTS - out); s.anyTS && back > 0 {
		if media && back > rebaseAfter {
			s.offset += int64(back)
		}
		out = s.lastTS // small backward jitter between audio and video: clamp
	}
	return out
}

// offer tries to hand p to the subscriber, applying receiveAudio/Video, pause, keyframe waits
// and skipping. It reports whether the subscriber is (still) refusing media.
func (s *Subscription) offer(p *media.Packet, pubTS uint32, st *stream) (behind bool) {
	if s.closed || s.paused {
		return false
	}
	isVideo := p.TypeID == 9
	if (isVideo && s.noVideo) || (p.TypeID == 8 && s.noAudio) {
		return false
	}
	key := isVideo && p.Keyframe
	if isVideo && s.wantKey && !key && !p.SeqHeader {
		return s.skipping
	}
	isMedia := isVideo || p.TypeID == 8
	if s.skipping && isMedia && !key && !p.SeqHeader && st.hasVideo {
		s.drops++
		st.drops++
		return true
	}
	ts := s.mapTS(pubTS, isMedia)
	// The keyframe a player waits for, and the frames up to JoinVideoFrames after it, go out at
	// once, not on the media tick's terms: a player that joined before its burst reached the hub
	// (an edge's first viewer of a pull) gets the burst as live media, and a coalesced tail
	// waits for the connection's media tick (up to 200 ms for a player that announced a long
	// buffer, as ffmpeg does) while ffmpeg's probe waits for it.
	start := key && s.wantKey || !s.wantKey && s.joinLeft > 0
	if !s.deliver(p, ts) {
		s.drops++
		st.drops++
		if !s.skipping {
			s.skipping, s.skipSince = true, st.hub.cfg.Now()
		}
		return true
	}
	s.lastTS, s.anyTS = ts, true
	s.bytes += uint64(len(p.Payload))
	if start {
		st.markUrgent(s)
	}
	if key {
		s.wantKey = false
	}
	if isVideo && !s.wantKey && s.joinLeft > 0 {
		s.joinLeft--
	}
	if s.skipping && (key || !st.hasVideo) {
		s.skipping, s.skipSince = false, time.Time{}
	}
	return false
}

// BytesDelivered is the payload bytes of every message handed to the subscriber so far (its
// join burst included).
func (s *Subscription) BytesDelivered() uint64 {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.bytes
}

// Drops is how many messages the subscriber missed by refusing them or while it skipped to the
// next keyframe (a recorder's report of a slow disk).
func (s *Subscription) Drops() uint64 {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.drops
}

// Close detaches the subscriber.
func (s *Subscription) Close() {
	st := s.st
	st.mu.Lock()
	if s.closed {
		st.mu.Unlock()
		return
	}
	st.removeSub(s)
	st.mu.Unlock()
	st.hub.removeIfIdle(st)
}

// Pause stops (true) or resumes (false) delivery; resuming waits for a keyframe.
func (s *Subscription) Pause(pause bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.paused && !pause {
		s.wantKey = true
	}
	s.paused = pause
}

// SetReceiveAudio turns audio delivery on or off (NetStream.receiveAudio).
func (s *Subscription) SetReceiveAudio(on bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.noAudio = !on
}

// SetReceiveVideo turns video delivery on or off; turning it on resumes at the next keyframe.
func (s *Subscription) SetReceiveVideo(on bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.noVideo && on {
		s.wantKey = true
	}
	s.noVideo = !on
}

// deliver hands one reference of p to the subscriber; false (reference released) if refused.
func (s *Subscription) deliver(p *media.Packet, ts uint32) bool {
	ok := s.sub.Deliver(p.Retain(), ts)
	if !ok {
		p.Release()
	}
	return ok
}
