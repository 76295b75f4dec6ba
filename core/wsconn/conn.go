// Package wsconn is one WebSocket client connection with the bounds every client of fmsgo has,
// whatever it speaks over it: a cap on each frame it sends, a rate of frames, an outbound queue
// bounded in bytes (a client that never reads is cut off, as a slow RTMP player is), a deadline
// for its first message, and liveness by ping. The goroutine that calls Serve reads and hands
// each frame to the caller's handler (so the handler may own the client's session); one writer
// goroutine writes what any goroutine queued with Send, in order.
package wsconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
)

// Limits are what one client may cost: the [limits] keys web_* of the origin and the edge. Zero
// fields keep the defaults (DefaultLimits); a negative rate turns the rate limit off. The Web
// prefix keeps the fields apart from the RTMP limits they sit beside in [limits].
type Limits struct {
	WebMaxMessageBytes int64   `toml:"web_max_message_bytes"` // largest frame a client may send (256 KiB)
	WebMessageRate     float64 `toml:"web_message_rate"`      // frames a second, on average (100)...
	WebMessageBurst    int     `toml:"web_message_burst"`     // ...after a burst of this many (200)
	WebQueueBytes      int     `toml:"web_queue_bytes"`       // outbound bytes a client may leave unread (4 MiB)
	// WebConnectTimeout bounds the wait for the first message (connect) after the upgrade; the
	// wait for the app's verdict is not counted (5 s).
	WebConnectTimeout time.Duration `toml:"web_connect_timeout"`
	// WebIdleTimeout closes a client from which nothing arrived for that long, a pong included;
	// it is pinged after half of it (120 s).
	WebIdleTimeout  time.Duration `toml:"web_idle_timeout"`
	WebWriteTimeout time.Duration `toml:"web_write_timeout"` // one frame's write (15 s)
}

// DefaultLimits are the limits when nothing is configured.
func DefaultLimits() Limits {
	return Limits{WebMaxMessageBytes: 256 << 10, WebMessageRate: 100, WebMessageBurst: 200, WebQueueBytes: 4 << 20,
		WebConnectTimeout: 5 * time.Second, WebIdleTimeout: 120 * time.Second, WebWriteTimeout: 15 * time.Second}
}

// OrDefaults returns l with every zero field taken from DefaultLimits.
func (l Limits) OrDefaults() Limits {
	d := DefaultLimits()
	if l.WebMaxMessageBytes <= 0 {
		l.WebMaxMessageBytes = d.WebMaxMessageBytes
	}
	if l.WebMessageRate == 0 {
		l.WebMessageRate = d.WebMessageRate
	}
	if l.WebMessageBurst <= 0 { // twice the rate: 200 for the default
		l.WebMessageBurst = max(1, int(l.WebMessageRate*2))
	}
	if l.WebQueueBytes <= 0 {
		l.WebQueueBytes = d.WebQueueBytes
	}
	l.WebConnectTimeout = orDuration(l.WebConnectTimeout, d.WebConnectTimeout)
	l.WebIdleTimeout = orDuration(l.WebIdleTimeout, d.WebIdleTimeout)
	l.WebWriteTimeout = orDuration(l.WebWriteTimeout, d.WebWriteTimeout)
	return l
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Causes of a close, for errors.Is on Serve's result.
var (
	ErrSlow        = errors.New("wsconn: client too slow: outbound queue full")
	ErrFlood       = errors.New("wsconn: client sends too many messages")
	ErrIdle        = errors.New("wsconn: nothing received in time")
	ErrNoConnect   = errors.New("wsconn: no connect in time")
	ErrBinaryFrame = errors.New("wsconn: binary frame on a text protocol")
	errClosedByUs  = errors.New("wsconn: closed")
)

// Stats are a connection's counters (any goroutine).
type Stats struct {
	BytesIn, BytesOut, MsgIn, MsgOut atomic.Uint64
	PingRTT                          atomic.Int64 // nanoseconds, the last ping's
}

// Conn is one WebSocket client.
type Conn struct {
	ws     *websocket.Conn
	lim    Limits
	log    *zerolog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	Stats  Stats

	mu      sync.Mutex
	queue   []item
	queued  int  // bytes in queue
	closing bool // a close is queued: nothing more is taken
	wake    chan struct{}

	lastIn      atomic.Int64 // unix nanoseconds of the last frame or pong received
	pinging     atomic.Bool
	connectTime *time.Timer
	idleTime    *time.Timer
	writerDone  chan struct{}
}

// item is one queued write: a frame, frames the writer renders (so that their cost is the
// writer's, not the sender's), or the close that ends the queue.
type item struct {
	frame  []byte
	render func() ([][]byte, error)
	size   int
	close  *closeFrame
}

type closeFrame struct {
	code   websocket.StatusCode
	reason string
}

// New wraps an accepted connection; nothing is read or written until Serve.
func New(ws *websocket.Conn, lim Limits, log *zerolog.Logger) *Conn {
	lim = lim.OrDefaults()
	ws.SetReadLimit(lim.WebMaxMessageBytes)
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Conn{ws: ws, lim: lim, log: log, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		writerDone: make(chan struct{})}
	c.lastIn.Store(time.Now().UnixNano())
	return c
}

// Context ends once the connection is ending (its cause is Cause).
func (c *Conn) Context() context.Context { return c.ctx }

// Done is closed once the connection is ending.
func (c *Conn) Done() <-chan struct{} { return c.ctx.Done() }

// Cause is why the connection ended (nil while it runs).
func (c *Conn) Cause() error { return context.Cause(c.ctx) }

// Close ends the connection with cause (any goroutine; never blocks): the writer sends a close
// frame saying why, unless cause is that the client does not read (ErrSlow, ErrIdle), which
// closes the socket at once.
func (c *Conn) Close(cause error) {
	c.cancel(cause)
	if errors.Is(cause, ErrSlow) || errors.Is(cause, ErrIdle) {
		go c.ws.CloseNow() // ends a write blocked on the client's full window
	}
}

// ConnectStarted stops the deadline for the first message: the client's connect has arrived.
func (c *Conn) ConnectStarted() {
	if c.connectTime != nil {
		c.connectTime.Stop()
	}
}

// Send queues frame (any goroutine; never blocks). A client whose unread frames would pass the
// queue's bound is closed with ErrSlow.
func (c *Conn) Send(frame []byte) error {
	return c.enqueue(item{frame: frame, size: len(frame)})
}

// SendRendered queues frames that the writer makes when their turn comes; size is what they
// count against the queue's bound until then (an estimate of their length).
func (c *Conn) SendRendered(size int, render func() ([][]byte, error)) error {
	return c.enqueue(item{render: render, size: size})
}

// CloseAfterFlush writes what is queued, then a close frame with code and reason; nothing
// queued after it is written (any goroutine).
func (c *Conn) CloseAfterFlush(code websocket.StatusCode, reason string) {
	_ = c.enqueue(item{close: &closeFrame{code: code, reason: shortReason(reason)}})
}

func (c *Conn) enqueue(it item) error {
	c.mu.Lock()
	if c.closing || c.ctx.Err() != nil {
		c.mu.Unlock()
		return errClosedByUs
	}
	if it.close == nil && c.queued+it.size > c.lim.WebQueueBytes {
		c.mu.Unlock()
		c.Close(ErrSlow)
		return ErrSlow
	}
	c.closing = it.close != nil
	c.queue = append(c.queue, it)
	c.queued += it.size
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// take hands the writer everything queued.
func (c *Conn) take() []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// written releases n bytes of the queue's bound once the writer has written them.
func (c *Conn) written(n int) {
	c.mu.Lock()
	c.queued -= n
	c.mu.Unlock()
}

// shortReason fits a close reason in a control frame (123 bytes), on a UTF-8 boundary.
func shortReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// closeCode is the close code and reason a cause is written with.
func closeCode(cause error) (websocket.StatusCode, string) {
	var ce *CloseError
	switch {
	case errors.As(cause, &ce):
		return ce.Code, shortReason(ce.Reason)
	case errors.Is(cause, ErrBinaryFrame):
		return websocket.StatusUnsupportedData, "text frames only"
	case errors.Is(cause, ErrSlow), errors.Is(cause, ErrFlood), errors.Is(cause, ErrNoConnect):
		return websocket.StatusPolicyViolation, shortReason(cause.Error())
	}
	return websocket.StatusGoingAway, ""
}

// CloseError is a handler's error that closes the client with its own code and reason.
type CloseError struct {
	Code   websocket.StatusCode
	Reason string
	Err    error
}

func (e *CloseError) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *CloseError) Unwrap() error { return e.Err }
