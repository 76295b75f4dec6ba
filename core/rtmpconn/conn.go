// Package rtmpconn is one RTMP connection: the handshake under a deadline, a read loop that turns
// chunks into typed events for a Handler, the protocol-control replies that need no application
// (acknowledgements, ping responses, chunk size), and an outbound queue whose writes put small
// per-connection chunk headers around shared payloads and carry many messages in one writev.
// Live media is coalesced here, whoever produces it: it waits for the connection's media tick
// (one of a server's sharded ticks, see Runtime), so a player gets a few writes a second
// rather than one per message. Both the origin and the edge build their sessions on it.
//
// Ownership: the read goroutine (Serve) owns the chunk reader and everything decoded from it;
// whoever holds the write side's lock (the writer goroutine, a media tick, an uncorking or
// flushing caller) owns the chunk writer; the outbound queue between producers (the read
// goroutine, stream hubs, JS loops) and the writers is a small bounded queue guarded by its own
// lock.
package rtmpconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/rs/zerolog"
)

// Config holds a connection's limits. Zero fields take the defaults of DefaultConfig.
type Config struct {
	HandshakeTimeout time.Duration // whole handshake must finish within it
	IdleTimeout      time.Duration // close when nothing at all arrives for this long, a ping included (sent after half of it)
	WriteTimeout     time.Duration // one flush to the socket must finish within it
	MaxQueuedBytes   int           // outbound bytes a client may leave unread before it is cut off
	ChunkSize        uint32        // announced with the connect answer
	WindowAckSize    uint32        // announced with the connect answer
	ReadBufferSize   int
	Limits           chunk.Limits // what the chunk reader allows once the application accepted the connection
	// PreConnectLimits apply from the end of the handshake until the connection is accepted
	// (SendConnectAccept): an anonymous peer gets little (chunk.PreConnectLimits when zero).
	PreConnectLimits chunk.Limits
	// ConnectTimeout: a connection not accepted within it of the end of the handshake is closed
	// (ErrNoConnect). It bounds how long a peer may stay silent or dribble bytes before its
	// connect; the wait for the application's verdict on a connect that arrived is not counted.
	ConnectTimeout time.Duration
	// InboundBudget, when set, bounds the reassembly buffers of all the connections sharing it
	// (one per server); past it the connection holding the most is closed.
	InboundBudget *chunk.Budget
	// MediaFlushInterval: live media (SendMedia) is written at most this late, many messages
	// per write, whoever produced it (DefaultMediaFlushInterval when 0; negative: no
	// coalescing, the connection's writer goroutine writes as media arrives).
	MediaFlushInterval time.Duration
	// MaxMediaFlushInterval caps how far a player that announces a long buffer (SetBufferLength)
	// lets its media wait: such a player gets a fifth of its buffer, in steps of
	// MediaFlushInterval, up to this (DefaultMaxMediaFlushInterval when 0; at or below
	// MediaFlushInterval every player gets MediaFlushInterval).
	MaxMediaFlushInterval time.Duration
	// Runtime is what the connections of a server share (ids, media ticks, write counters); one
	// per server (ServerLimits.Apply makes it). Nil gives each connection a runtime of its own.
	Runtime *Runtime
}

// DefaultConfig is what a server uses when nothing is configured.
func DefaultConfig() Config {
	return Config{
		HandshakeTimeout: 5 * time.Second, // a client on a bad mobile link needs 1-2 s; a silent socket is not held for long
		IdleTimeout:      120 * time.Second,
		WriteTimeout:     15 * time.Second,
		MaxQueuedBytes:   16 << 20,
		ChunkSize:        4096,
		WindowAckSize:    2500000,
		ReadBufferSize:   4 << 10, // per connection: idle players dominate; publishers read often anyway
		Limits:           chunk.DefaultLimits(),
		PreConnectLimits: chunk.PreConnectLimits(),
		ConnectTimeout:   5 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = d.HandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = d.MaxQueuedBytes
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = d.ChunkSize
	}
	if c.WindowAckSize == 0 {
		c.WindowAckSize = d.WindowAckSize
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = d.ReadBufferSize
	}
	if c.Limits == (chunk.Limits{}) {
		c.Limits = d.Limits
	}
	if c.PreConnectLimits == (chunk.Limits{}) {
		c.PreConnectLimits = d.PreConnectLimits
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.MediaFlushInterval == 0 {
		c.MediaFlushInterval = DefaultMediaFlushInterval
	}
	if c.MaxMediaFlushInterval == 0 {
		c.MaxMediaFlushInterval = DefaultMaxMediaFlushInterval
	}
	return c
}

// ErrSlowConsumer closes a client that leaves more than MaxQueuedBytes unread.
var ErrSlowConsumer = errors.New("slow consumer: outbound queue over its limit")

// ErrNoConnect closes a connection that was not accepted within ConnectTimeout of its handshake.
var ErrNoConnect = errors.New("no connect accepted in time after the handshake")

// ErrClosed is returned by sends on a closed connection.
var ErrClosed = errors.New("connection closed")

// Conn is one RTMP connection (server side).
type Conn struct {
	id      string
	rt      *Runtime // the server's (Config.Runtime)
	shard   int      // the runtime's tick shard this connection belongs to
	nc      net.Conn
	qa      *quickAckReader // the read source at the start (readSource); read goroutine only
	cfg     *Config         // effective configuration, shared by the connections of a server (Runtime.config)
	log     connLog
	handler Handler
	raw     RawCommandHandler // handler's, when it relays commands undecoded; nil otherwise

	ctx    context.Context
	cancel context.CancelCauseFunc

	objectEncoding atomic.Int32
	out            outQueue
	ws             writeSide
	corked         atomic.Int32         // Cork depth: writes held back while > 0
	inTick         atomic.Bool          // this connection waits in its tick's list
	tick           atomic.Pointer[tick] // coalesces media writes (nil: coalescing off)
	writers        sync.WaitGroup       // writer goroutines (started on demand)
	writerRunning  atomic.Bool
	draining       atomic.Bool // write side shut after a final answer; reading until the peer goes
	writerStart    sync.Mutex  // guards writersDone against a writer starting during shutdown
	writersDone    bool
	closeOnce      sync.Once
	idleWaits      atomic.Uint64 // times the read loop waited without its read buffer
	admitted       atomic.Bool   // the application accepted the connection: full read limits

	Stats Stats
}

// Stats are the connection's counters, readable from any goroutine.
type Stats struct {
	BytesIn, BytesOut   atomic.Uint64
	MsgIn, MsgOut       atomic.Uint64
	Writes              atomic.Uint64 // write system calls: MsgOut/Writes is how many messages a write carried
	UnknownTypes        atomic.Uint64
	LastPingRTT         atomic.Int64 // nanoseconds
	ConnectedAtUnixNano int64
}

// New wraps an accepted TCP connection. Serve runs it.
func New(nc net.Conn, cfg Config, h Handler, log zerolog.Logger) *Conn {
	rt := cfg.Runtime
	if rt == nil {
		rt = newRuntime(1)
	}
	id, shard := rt.nextID()
	c := &Conn{
		id:      id,
		rt:      rt,
		shard:   shard,
		nc:      nc,
		cfg:     rt.config(cfg),
		handler: h,
	}
	c.raw, _ = h.(RawCommandHandler)
	c.log.init(log, c)
	c.Stats.ConnectedAtUnixNano = time.Now().UnixNano()
	c.out.init(c.cfg.MaxQueuedBytes)
	c.initWriteSide()
	c.tick.Store(rt.tickFor(c.cfg.MediaFlushInterval, shard))
	return c
}

// ID is the server's identifier of this connection, unique among its runtime's connections.
func (c *Conn) ID() string { return c.id }

// Log is the connection's sub-logger: every line carries the connection's id ("conn") and the
// peer's address ("remote"), and after SetLogApp the app and instance. Those fields are added
// by a hook as a line is written, so Log costs nothing and keeps nothing per connection (a
// logger's own context buffer is half a kilobyte, and most connections never log a line); a
// line of a disabled level builds nothing.
func (c *Conn) Log() *zerolog.Logger { return c.log.logger() }

// SetLogger replaces the sub-logger (pass one derived from Log, which carries the connection's
// fields). Call it on the read goroutine.
func (c *Conn) SetLogger(l zerolog.Logger) { c.log.l = l }

// SetLogApp adds the app and instance to every line the connection logs from now on (its
// connect was accepted). Safe from any goroutine.
func (c *Conn) SetLogApp(app, instance string) {
	c.log.app.Store(&logApp{app: app, instance: instance})
}

// connLog is the connection's logger: the server's logger with a hook (connLog itself) that
// writes the connection's fields into each line.
type connLog struct {
	l   zerolog.Logger // the server's logger with the hook, or SetLogger's logger
	c   *Conn
	app atomic.Pointer[logApp] // SetLogApp's fields
}

type logApp struct{ app, instance string }

func (g *connLog) init(l zerolog.Logger, c *Conn) {
	g.c = c
	g.l = l.Hook(g)
}

// Run adds the connection's fields to a line being written (zerolog.Hook).
func (g *connLog) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("conn", g.c.id).Str("remote", g.c.nc.RemoteAddr().String())
	if a := g.app.Load(); a != nil {
		e.Str("app", a.app).Str("instance", a.instance)
	}
}

func (g *connLog) logger() *zerolog.Logger { return &g.l }

// Debug, Info and Warn start a line at their level (nil, building nothing, when it is off).
func (g *connLog) Debug() *zerolog.Event { return g.event(zerolog.DebugLevel) }
func (g *connLog) Info() *zerolog.Event  { return g.event(zerolog.InfoLevel) }
func (g *connLog) Warn() *zerolog.Event  { return g.event(zerolog.WarnLevel) }

func (g *connLog) event(level zerolog.Level) *zerolog.Event {
	if level < g.l.GetLevel() || level < zerolog.GlobalLevel() {
		return nil
	}
	return g.l.WithLevel(level)
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Context is cancelled when the connection closes; its cause says why.
func (c *Conn) Context() context.Context { return c.ctx }

// Config returns the connection's effective configuration.
func (c *Conn) Config() Config { return *c.cfg }

// ObjectEncoding is 0 (AMF0) or 3 (AMF3): how commands to this client are encoded.
func (c *Conn) ObjectEncoding() int { return int(c.objectEncoding.Load()) }

// SetObjectEncoding selects AMF3 commands (type 17) for a client that connected with
// objectEncoding 3.
func (c *Conn) SetObjectEncoding(enc int) { c.objectEncoding.Store(int32(enc)) }

// Serve runs the handshake and then the read loop until the connection ends. It returns the
// reason; the handler's Closed method is called exactly once before it returns.
//
// Its work is split into calls that return before the read loop runs: Serve's and readLoop's
// frames are what an idle connection keeps on its stack, and a parked stack using under a
// quarter of its size is one the garbage collector can halve (see idle.go).
func (c *Conn) Serve(ctx context.Context) error {
	rs, err := c.start(ctx)
	if err == nil {
		err = c.readLoop(rs)
	}
	return c.finish(rs, err)
}

// start sets up the connection's context (the connection closes when ctx ends), then runs the
// handshake with a read buffer from the shared pool and prepares the read state.
//
// The connection's context is not a child of ctx: Close cancels it, and one callback on ctx
// closes the connection. A child context that also had a callback of its own to close the socket
// cost an idle connection a map of children and a done channel besides.
func (c *Conn) start(ctx context.Context) (*readState, error) {
	c.ctx, c.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	pool := c.rt.readBufPool(c.cfg.ReadBufferSize)
	rs := &readState{pool: pool, br: c.getReadBuffer(pool), unwatch: neverWatched, busy: c.rt.busyMessages}
	if ctx.Done() != nil {
		rs.unwatch = context.AfterFunc(ctx, func() { c.Close(context.Cause(ctx)) })
	}
	if err := c.handshake(rs.br); err != nil {
		return rs, err
	}
	rs.cr = chunk.NewReader(rs.br, c.cfg.PreConnectLimits)
	if b := c.cfg.InboundBudget; b != nil {
		rs.cr.UseBudget(b, c.Close)
	}
	rs.idle = c.newIdleWait(rs)
	if c.admitted.Load() {
		c.raiseLimits(rs)
		return rs, nil
	}
	return rs, c.nc.SetReadDeadline(time.Now().Add(c.cfg.ConnectTimeout))
}

// admit marks the connection accepted by its application; the read loop raises its limits from
// PreConnectLimits to Limits before it reads the next message (SendConnectAccept calls it
// before the answer is queued, so before the verdict reaches the read goroutine).
func (c *Conn) admit() { c.admitted.Store(true) }

// raiseLimits gives an accepted connection its full limits and its idle deadline instead of the
// connect deadline (on the read goroutine).
func (c *Conn) raiseLimits(rs *readState) {
	rs.admitted = true
	rs.cr.SetLimits(c.cfg.Limits)
	rs.deadlineAt = time.Time{} // refreshReadDeadline sets the idle deadline at once
}

// finish closes the connection once reading ended, waits for the writers and reports the cause.
func (c *Conn) finish(rs *readState, err error) error {
	c.endRead(rs)
	c.Close(err)
	c.writerStart.Lock()
	c.writersDone = true
	c.writerStart.Unlock()
	c.writers.Wait()
	c.ws.mu.Lock() // whatever a last write left unfinished: release its packets
	c.releaseBatch()
	c.ws.mu.Unlock()
	cause := context.Cause(c.ctx)
	_ = c.handlerClosed(cause) // a panic there is logged; the connection is closed already
	rs.unwatch()
	return cause
}

// neverWatched is the unwatch of a connection whose parent context cannot end.
func neverWatched() bool { return true }

// handshake runs the server handshake under HandshakeTimeout. It answers from the read buffer
// and writes from a buffer of the runtime's pool; the read deadline it leaves is replaced by
// the caller's (start).
func (c *Conn) handshake(br *bufio.Reader) error {
	_ = c.nc.SetDeadline(time.Now().Add(c.cfg.HandshakeTimeout))
	var err error
	if br.Size() >= 1+hsSize {
		hb := c.rt.handshakeBuffer()
		err = serverHandshakeBuffered(br, armingWriter{c}, hb.out[:], hb.random)
		c.rt.putHandshakeBuffer(hb)
	} else {
		err = ServerHandshake(struct {
			io.Reader
			io.Writer
		}{br, armingWriter{c}})
	}
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	return c.nc.SetWriteDeadline(time.Time{})
}

// armingWriter writes the handshake's answer and then arms the quick ACKs of the reads that
// follow (see quickAckReader).
type armingWriter struct{ c *Conn }

func (w armingWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	if w.c.qa != nil {
		w.c.qa.armed = true
	}
	return n, err
}

// Close ends the connection at once with a reason (nil = normal close). Safe from any goroutine.
func (c *Conn) Close(reason error) {
	c.closeOnce.Do(func() {
		if reason == nil {
			reason = ErrClosed
		}
		if c.cancel != nil {
			c.cancel(reason)
		}
		_ = c.nc.Close()
		c.out.close()
	})
}

// SetNoDelay turns Nagle's algorithm off (true, the default for fresh connections: commands and
// connect answers go out at once) or on (false: a connection that mostly receives media lets the
// kernel coalesce small audio and video messages into fewer segments, which costs far less CPU
// per message on the server at the price of a little latency).
func (c *Conn) SetNoDelay(on bool) {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(on)
	}
}
