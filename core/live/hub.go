// Package live is the live stream hub: one publisher to many subscribers per stream name, with the
// metadata, sequence headers and GOP cache a late joiner needs to start at once on a keyframe, and
// with per-subscriber flow control that never lets a slow player slow the publisher or the others.
//
// Concurrency: each stream's state is guarded by that stream's own mutex, held only for
// non-blocking work (subscribers' Deliver and Notify must not block: they append to the
// subscriber's bounded queue). This keeps a published message to a direct loop over the
// subscribers, with no goroutine hop and no allocation, and it is safe to call every method from
// any goroutine. The hub's map of streams has its own small lock, taken on publish/subscribe and
// removal, never per message.
package live

import (
	"errors"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// Config tunes a hub. Zero values take the defaults.
type Config struct {
	// SubscriberQueueBytes is the byte budget a subscriber should give its own queue (4 MiB): the
	// hub does not queue, it only reads Deliver's verdict; sessions size their queues from here.
	SubscriberQueueBytes int
	CutOffAfter          time.Duration // a subscriber that keeps refusing media this long is cut off (10 s)
	TakeoverIdle         time.Duration // a publisher silent this long may be replaced, under Claim's rule (3 s)
	GOPCacheMaxBytes     int           // beyond this the GOP cache is dropped until the next keyframe (16 MiB)
	// JoinVideoFrames is how many video frames a late joiner is handed at once when the cache
	// has them (41: what ffmpeg/ffplay read to estimate an H.264 frame rate before their first
	// frame; see gopCache): GOPs before the last keyframe are kept while the last one is shorter.
	// 1 keeps only the last GOP.
	JoinVideoFrames int
	// JoinMaxBehind bounds how far behind the live edge an older GOP kept for JoinVideoFrames may
	// start (3 s): a stream with long GOPs gives joiners its last GOP only, as before.
	JoinMaxBehind time.Duration
	ReportEvery   time.Duration    // period of drop reports in the log (10 s)
	Now           func() time.Time // clock (tests inject one)
}

func (c Config) withDefaults() Config {
	if c.SubscriberQueueBytes <= 0 {
		c.SubscriberQueueBytes = 4 << 20
	}
	if c.CutOffAfter <= 0 {
		c.CutOffAfter = 10 * time.Second
	}
	if c.TakeoverIdle <= 0 {
		c.TakeoverIdle = 3 * time.Second
	}
	if c.GOPCacheMaxBytes <= 0 {
		c.GOPCacheMaxBytes = 16 << 20
	}
	if c.JoinVideoFrames <= 0 {
		c.JoinVideoFrames = 41
	}
	if c.JoinMaxBehind <= 0 {
		c.JoinMaxBehind = 3 * time.Second
	}
	if c.ReportEvery <= 0 {
		c.ReportEvery = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Errors of Publish and Subscribe.
var (
	ErrBadName  = errors.New("live: stream is already being published")
	ErrReplaced = errors.New("live: publisher replaced by a new publisher of the same name")
	ErrClosed   = errors.New("live: hub closed")
)

// Publisher is the hub's handle on a publishing session: Kick tells it that a new publisher took
// its name over (it was silent longer than TakeoverIdle, e.g. a half-open encoder connection, and
// the new claim could take over: see Claim) or that the hub closed. Kick is called without the hub's locks; it may call Publication.Close.
type Publisher interface {
	Kick(reason error)
}

// EventKind says what happened to a stream a subscriber waits on or plays.
type EventKind int

// Events delivered to subscribers through Notify.
const (
	EventPublishNotify EventKind = iota + 1
	EventUnpublishNotify
	// EventReset follows EventPublishNotify when a publisher starts (also one taking over): the
	// codec headers that follow replace the old ones, and the new publisher's timestamps are
	// already shifted to continue the subscriber's.
	EventReset
)

// Event is a stream lifecycle notification.
type Event struct {
	Kind EventKind
	Name string
}

// Subscriber receives a stream's media. Deliver and Notify are called with the stream's lock
// held: they must neither block nor call back into the hub (queue, then act on the subscriber's
// own goroutine). CutOff is called without the lock.
type Subscriber interface {
	// Deliver queues p with the subscriber's own timestamp ts; false means its queue is full. On
	// true the subscriber owns one reference of p (released after writing).
	Deliver(p *media.Packet, ts uint32) bool
	// Notify reports publish/unpublish of the stream.
	Notify(ev Event)
	// CutOff tells a subscriber that stayed behind too long that the hub dropped it.
	CutOff(reason error)
}

// Flusher is a Subscriber whose deliveries wait to be written with later ones (an RTMP
// connection coalesces media on its media tick). The hub calls Flush, without the stream's
// lock, after it delivered a player's start (the keyframe a player waits for and the frames of
// JoinVideoFrames after it), so that the start goes out at once and is not written under the
// lock.
type Flusher interface {
	Flush()
}

// ErrTooSlow is the reason given to a subscriber that is cut off.
var ErrTooSlow = errors.New("live: subscriber stayed behind the live stream too long")

// Hub holds the live streams of one application instance.
type Hub struct {
	cfg     Config
	log     zerolog.Logger
	mu      sync.Mutex
	streams map[string]*stream
	closed  bool
}

// NewHub returns an empty hub.
func NewHub(cfg Config, log zerolog.Logger) *Hub {
	return &Hub{cfg: cfg.withDefaults(), log: log, streams: make(map[string]*stream)}
}

// Config returns the hub's configuration with defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

// StreamInfo is a snapshot of one stream, for stats.
type StreamInfo struct {
	Name        string
	Publishing  bool
	Subscribers int
	BytesIn     uint64
	MessagesIn  uint64
	Drops       uint64 // messages not delivered to slow subscribers
}

// Streams returns a snapshot of every stream.
func (h *Hub) Streams() []StreamInfo {
	h.mu.Lock()
	list := make([]*stream, 0, len(h.streams))
	for _, st := range h.streams {
		list = append(list, st)
	}
	h.mu.Unlock()
	out := make([]StreamInfo, 0, len(list))
	for _, st := range list {
		st.mu.Lock()
		out = append(out, StreamInfo{Name: st.name, Publishing: st.pub != nil, Subscribers: len(st.subs), BytesIn: st.bytesIn, MessagesIn: st.messagesIn, Drops: st.drops})
		st.mu.Unlock()
	}
	return out
}

// stream returns the stream of name, creating it.
func (h *Hub) stream(name string) (*stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	st := h.streams[name]
	if st == nil {
		st = &stream{hub: h, name: name, log: h.log.With().Str("stream", name).Logger(), gop: gopCache{
			joinFrames: h.cfg.JoinVideoFrames, maxBehind: uint32(h.cfg.JoinMaxBehind.Milliseconds()), maxBytes: h.cfg.GOPCacheMaxBytes}}
		h.streams[name] = st
	}
	return st, nil
}

// lockStream returns the stream of name, locked and not removed.
func (h *Hub) lockStream(name string) (*stream, error) {
	for {
		st, err := h.stream(name)
		if err != nil {
			return nil, err
		}
		st.mu.Lock()
		if !st.removed {
			return st, nil
		}
		st.mu.Unlock()
	}
}

// removeIfIdle drops a stream with neither publisher nor subscribers.
func (h *Hub) removeIfIdle(st *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pub == nil && len(st.subs) == 0 && !st.removed {
		st.removed = true
		if h.streams[st.name] == st {
			delete(h.streams, st.name)
		}
	}
}

// Close ends every stream: caches are released, publishers are kicked and subscribers cut off
// with ErrClosed (outside any lock), and later Publish/Subscribe calls fail.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	list := h.streams
	h.streams = map[string]*stream{}
	h.mu.Unlock()
	for _, st := range list {
		pub, subs := st.detachAll()
		if pub != nil {
			pub.Kick(ErrClosed)
		}
		for _, s := range subs {
			s.CutOff(ErrClosed)
		}
	}
}

// detachAll empties a stream for Hub.Close and returns whom to tell.
func (st *stream) detachAll() (Publisher, []Subscriber) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var pub Publisher
	if st.pub != nil {
		st.pub.closed = true
		pub = st.pub.pub
		st.pub = nil
	}
	subs := make([]Subscriber, 0, len(st.subs))
	for _, s := range st.subs {
		s.closed = true
		subs = append(subs, s.sub)
	}
	st.subs = nil
	st.removed = true
	st.clearCaches()
	return pub, subs
}
