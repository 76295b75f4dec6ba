package rtmpconn

import (
	crand "crypto/rand"
	mrand "math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Runtime is what the connections of one server share: the sequence of their ids, the
// configuration they were last made with, the media ticks that coalesce their writes, counters
// of their socket writes, and their pools of read buffers. A server makes one (ServerLimits.Apply does) and hands it to
// every connection in Config.Runtime, so that nothing about connections is process-wide: two
// servers in one process (an origin and an edge in a test) keep their own.
//
// The ticks are sharded: each interval has one tick per shard (GOMAXPROCS at NewRuntime), and a
// connection belongs to the shard of its id, so the socket writes of many players are spread
// over several goroutines instead of one.
type Runtime struct {
	seq    atomic.Uint64
	last   atomic.Pointer[configPair]
	shards []shard

	ticksMu sync.Mutex
	ticks   map[time.Duration][]*tick // one tick per shard, made on first use of an interval

	readBufs     sync.Map  // int → *sync.Pool of *bufio.Reader (readBufPool)
	hsBufs       sync.Pool // of *handshakeBuffer
	busyMessages uint32    // see defaultBusyMessages
}

// shard is one tick shard's counters, padded to a cache line of its own: the connections of a
// shard are mostly written by that shard's goroutine, and the shards do not share a line.
type shard struct {
	writes atomic.Uint64 // write system calls made by the shard's connections
	msgs   atomic.Uint64 // messages they wrote
	_      [48]byte
}

// NewRuntime makes a server's connection runtime with one tick shard per usable core.
func NewRuntime() *Runtime { return newRuntime(runtime.GOMAXPROCS(0)) }

func newRuntime(shards int) *Runtime {
	return &Runtime{shards: make([]shard, max(shards, 1)), ticks: map[time.Duration][]*tick{}, busyMessages: defaultBusyMessages}
}

// Shards is how many tick shards the runtime has.
func (r *Runtime) Shards() int { return len(r.shards) }

// Totals are the socket writes and the messages written by every connection of the runtime so
// far: their ratio is how many messages a write carries.
func (r *Runtime) Totals() (writes, messages uint64) {
	for i := range r.shards {
		writes += r.shards[i].writes.Load()
		messages += r.shards[i].msgs.Load()
	}
	return writes, messages
}

// nextID is a new connection's id (unique among the runtime's connections) and its shard.
func (r *Runtime) nextID() (string, int) {
	n := r.seq.Add(1)
	return strconv.FormatUint(n, 36), int(n % uint64(len(r.shards)))
}

// NewClientID is a new client id from the same sequence as the runtime's connections, for a
// client of the server that is not an RTMP connection (a WebSocket): an app's client ids stay
// unique whatever carries each client.
func (r *Runtime) NewClientID() string {
	id, _ := r.nextID()
	return id
}

// configPair is a configuration as given and with its defaults.
type configPair struct{ given, effective Config }

// config returns cfg with its defaults, shared with the previous connection's when equal: a
// server makes all its connections with one configuration, so they share one copy instead of
// carrying it in every connection.
func (r *Runtime) config(cfg Config) *Config {
	if p := r.last.Load(); p != nil && p.given == cfg {
		return &p.effective
	}
	p := &configPair{given: cfg, effective: cfg.withDefaults()}
	r.last.Store(p)
	return &p.effective
}

// tickFor returns the tick of interval d for shard (nil when d <= 0: no coalescing).
func (r *Runtime) tickFor(d time.Duration, shard int) *tick {
	if d <= 0 {
		return nil
	}
	r.ticksMu.Lock()
	defer r.ticksMu.Unlock()
	set := r.ticks[d]
	if set == nil {
		set = make([]*tick, len(r.shards))
		for i := range set {
			set[i] = &tick{interval: d}
		}
		r.ticks[d] = set
	}
	return set[shard]
}

// handshakeBuffer is what a connection's handshake needs besides its read buffer: room for
// S0+S1+S2, and a random source for S1 (ChaCha8 seeded from crypto/rand: as unpredictable,
// and a fraction of the cost of 1.5 KB from the system generator on every connect).
type handshakeBuffer struct {
	out    [1 + 2*hsSize]byte
	random *mrand.ChaCha8
}

// handshakeBuffer takes one from the runtime's pool (putHandshakeBuffer gives it back): a
// handshake is over in a round trip, so a few buffers serve any rate of connects.
func (r *Runtime) handshakeBuffer() *handshakeBuffer {
	if b, ok := r.hsBufs.Get().(*handshakeBuffer); ok {
		return b
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand)
	return &handshakeBuffer{random: mrand.NewChaCha8(seed)}
}

func (r *Runtime) putHandshakeBuffer(b *handshakeBuffer) { r.hsBufs.Put(b) }
