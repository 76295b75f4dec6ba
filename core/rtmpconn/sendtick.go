package rtmpconn

import (
	"sync"
	"time"
)

// DefaultMediaFlushInterval is how long live media may wait in a player's queue so that several
// messages leave in one write. Fan-out cost is dominated by each write that reaches the network
// (on loopback: the transmit, the peer's receive path and its wake-up, ~6 µs measured), paid
// once per write whatever its size; a 2 Mb/s stream brings ~70 messages a second. Measured on
// the loopback fan-out bench (1000 players, 2 cores; CPU of a core): per message 24-30%,
// 20 ms 21-23%, 40 ms 20-21%, 100 ms 12%, 200 ms 8.6%. 40 ms is the default because it adds at
// most one frame interval at 25 fps, which even a player with Flash's default live buffer of
// 0.1 s absorbs; servers whose players buffer 0.5 s or more can set 100-200 ms.
const DefaultMediaFlushInterval = 40 * time.Millisecond

// DefaultMaxMediaFlushInterval caps the media flush interval of a player that announced a long
// buffer. FMS did the same kind of thing with its live queue (StreamManager/Live/Queue in
// Application.xml), which held a subscriber's messages up to a delay and sent them together.
const DefaultMaxMediaFlushInterval = 200 * time.Millisecond

// flushIntervalFor is the media flush interval for a player that buffers buffer: a fifth of it,
// rounded down to a multiple of base (so that a process has a handful of ticks, not one per
// player), between base and max. A player with Flash's default live buffer (0.1 s) gets base;
// ffmpeg/ffplay (3 s) and most web players (1 s and more) get max.
func flushIntervalFor(buffer, base, ceiling time.Duration) time.Duration {
	if base <= 0 || ceiling <= base {
		return base
	}
	d := buffer / 5 / base * base
	return min(max(d, base), ceiling)
}

// adaptMediaFlush moves the connection to the tick that suits the buffer its player announced
// (SetBufferLength). A flush already listed on the old tick still happens there.
func (c *Conn) adaptMediaFlush(buffer time.Duration) {
	if c.tick.Load() == nil {
		return // coalescing disabled
	}
	d := flushIntervalFor(buffer, c.cfg.MediaFlushInterval, c.cfg.MaxMediaFlushInterval)
	if t := c.tick.Load(); t.interval != d {
		c.tick.Store(c.rt.tickFor(d, c.shard))
	}
}

// tick coalesces the media writes of many connections: a connection that was handed media joins
// the tick's list once, and the tick's goroutine flushes every listed connection once per
// interval. The goroutine runs only while some connection waits, so an idle server holds no
// ticker. A server's Runtime has one tick per distinct interval and shard: its list is the only
// shared state and has its own lock.
type tick struct {
	interval time.Duration
	mu       sync.Mutex
	pending  []*Conn
	running  bool
}

// add lists c for the next flush (the caller made sure it is listed at most once).
func (t *tick) add(c *Conn) {
	t.mu.Lock()
	t.pending = append(t.pending, c)
	start := !t.running
	t.running = true
	t.mu.Unlock()
	if start {
		go t.run()
	}
}

// run flushes the listed connections once per interval until a tick finds none.
func (t *tick) run() {
	tk := time.NewTicker(t.interval)
	defer tk.Stop()
	var batch []*Conn
	for range tk.C {
		var more bool
		if batch, more = t.flushOnce(batch); !more {
			return
		}
	}
}

// flushOnce flushes every connection listed now, using (and returning) batch as scratch; false
// means there was none and the tick stopped running.
func (t *tick) flushOnce(batch []*Conn) ([]*Conn, bool) {
	t.mu.Lock()
	batch, t.pending = t.pending, batch[:0]
	if len(batch) == 0 {
		t.running = false
		t.mu.Unlock()
		return batch, false
	}
	t.mu.Unlock()
	for i, c := range batch {
		c.flushTick()
		batch[i] = nil
	}
	return batch[:0], true
}

// pendingLen is how many connections wait for the next flush.
func (t *tick) pendingLen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// flushTick writes what the tick coalesced for this connection.
func (c *Conn) flushTick() {
	c.inTick.Store(false)
	c.writeSoon()
}
