package trunk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Conn errors.
var (
	ErrClosed   = errors.New("trunk: closed")
	ErrPeerDead = errors.New("trunk: peer silent past the heartbeat limit")
	ErrTooLarge = errors.New("trunk: message larger than the peer's frame limit")
)

// Config holds a trunk's limits and timers. Zero fields take DefaultConfig's values.
type Config struct {
	HeartbeatInterval time.Duration // a Ping is sent this often
	DeadAfter         time.Duration // no frame at all for this long: the trunk is dead
	WriteTimeout      time.Duration // one flush to the socket
	MaxControlBytes   int           // control frames queued; beyond it the trunk is failing
	MaxMediaBytes     int           // media queued; beyond it SendMedia returns ErrQueueFull
	SessionWindow     uint32        // per-session bytes we buffer inbound; filled into Open/Verdict
	MediaBatch        int           // media bytes written between two looks at the control queue
	Log               zerolog.Logger
}

// DefaultConfig is what origin and edge use unless configured otherwise.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval: 5 * time.Second,
		DeadAfter:         20 * time.Second,
		WriteTimeout:      15 * time.Second,
		MaxControlBytes:   64 << 20,
		MaxMediaBytes:     32 << 20,
		SessionWindow:     256 << 10,
		MediaBatch:        64 << 10,
		Log:               zerolog.Nop(),
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 4 * c.HeartbeatInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MaxControlBytes <= 0 {
		c.MaxControlBytes = d.MaxControlBytes
	}
	if c.MaxMediaBytes <= 0 {
		c.MaxMediaBytes = d.MaxMediaBytes
	}
	if c.SessionWindow == 0 {
		c.SessionWindow = d.SessionWindow
	}
	if c.MediaBatch <= 0 {
		c.MediaBatch = d.MediaBatch
	}
	return c
}

// Handler receives every frame the Conn does not consume itself (it consumes Ping, Pong,
// SessionAck and trunk-level Error). It runs on the read goroutine: it must not block; hand
// session frames to a Mux and media to a live hub. f.Body is valid only during the call. A
// returned error ends the trunk.
type Handler func(f Frame) error

// Conn is an established trunk: one read goroutine (Serve), one writer goroutine, any number of
// senders.
type Conn struct {
	link    *Link
	cfg     Config
	handler Handler
	log     zerolog.Logger
	rd      *Reader
	q       *outQueue
	credits credits

	done      chan struct{}
	closeOnce sync.Once
	closing   atomic.Bool // set by Close before its shutdown frame, so the peer's answering EOF reads as ErrClosed
	errMu     sync.Mutex
	err       error
	wdone     chan struct{}

	start                              time.Time // Ping times are monotonic nanoseconds since start
	rtt, bytesIn, bytesOut, mediaDrops atomic.Int64
	writes                             atomic.Int64 // write syscalls (writev calls), for batching benchmarks
}

// Stats is a snapshot for metrics and periodic logs.
type Stats struct {
	RTT           time.Duration
	BytesIn       int64
	BytesOut      int64
	QueuedControl int
	QueuedMedia   int
	MediaDropped  int64
}

// NewConn wraps an authenticated link. Nothing runs until Serve.
func NewConn(link *Link, cfg Config, h Handler) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		link: link, cfg: cfg, handler: h,
		log:   cfg.Log.With().Str("peer", link.PeerID).Str("addr", link.NetConn.RemoteAddr().String()).Logger(),
		rd:    NewReader(link.Reader, link.LocalMaxFrame),
		q:     newOutQueue(cfg.MaxControlBytes, cfg.MaxMediaBytes),
		done:  make(chan struct{}),
		wdone: make(chan struct{}),
		start: time.Now(),
	}
	return c
}

// PeerID is the id the peer gave in the handshake (edge id or origin id).
func (c *Conn) PeerID() string { return c.link.PeerID }

// Version is the protocol version negotiated in the handshake.
func (c *Conn) Version() uint16 { return c.link.Version }

// RemoteAddr is the peer's address, e.g. for the app's client.edge.address.
func (c *Conn) RemoteAddr() net.Addr { return c.link.NetConn.RemoteAddr() }

// Done is closed when the trunk has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is the reason the trunk ended (nil while it runs).
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// SessionWindow is the per-session window this side announces.
func (c *Conn) SessionWindow() uint32 { return c.cfg.SessionWindow }

// Stats returns current counters.
func (c *Conn) Stats() Stats {
	ctrl, media := c.q.queued()
	return Stats{RTT: time.Duration(c.rtt.Load()), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		QueuedControl: ctrl, QueuedMedia: media, MediaDropped: c.mediaDrops.Load()}
}

// Serve runs the trunk until the peer goes away, falls silent past DeadAfter, breaks the protocol,
// ctx ends, or Close is called. It returns the reason (ErrClosed after Close).
func (c *Conn) Serve(ctx context.Context) error {
	go c.writeLoop()
	stop := context.AfterFunc(ctx, func() { c.fail(fmt.Errorf("%w: %w", ErrClosed, ctx.Err())) })
	defer stop()
	c.fail(c.readLoop())
	<-c.wdone
	return c.Err()
}

// Close ends the trunk: a trunk-level Error frame (CodeShutdown) is attempted, then the socket is
// closed. Serve returns ErrClosed.
func (c *Conn) Close() error {
	c.closing.Store(true)
	_ = c.sendCtrl(0, ErrorMsg{Code: CodeShutdown, Message: "closing"})
	c.fail(ErrClosed)
	return nil
}

// fail records the first reason and tears everything down; later calls are no-ops.
func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		c.q.close()
		if !errors.Is(err, ErrClosed) {
			c.log.Warn().Err(err).Msg("trunk down")
		}
		// The writer gets a moment to flush what is already taken (e.g. the shutdown frame).
		_ = c.link.NetConn.SetReadDeadline(time.Now())
		go func() {
			select {
			case <-c.wdone:
			case <-time.After(time.Second):
			}
			c.link.NetConn.Close()
		}()
	})
}

func (c *Conn) readLoop() error {
	var lastSet time.Time
	for {
		if now := time.Now(); now.Sub(lastSet) > c.cfg.DeadAfter/8 {
			if err := c.link.NetConn.SetReadDeadline(now.Add(c.cfg.DeadAfter)); err != nil {
				return fmt.Errorf("trunk: set read deadline: %w", err)
			}
			lastSet = now
		}
		f, err := c.rd.ReadFrame()
		if err != nil {
			return c.readError(err)
		}
		c.bytesIn.Add(int64(HeaderSize + len(f.Body)))
		if err := c.dispatch(f); err != nil {
			return err
		}
	}
}

func (c *Conn) readError(err error) error {
	if c.closing.Load() {
		return ErrClosed
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: nothing for %v", ErrPeerDead, c.cfg.DeadAfter)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("trunk: peer closed the connection: %w", err)
	}
	return err
}

func (c *Conn) dispatch(f Frame) error {
	switch f.Kind {
	case KindPing:
		p, err := DecodePing(f.Body)
		if err != nil {
			return err
		}
		return c.sendCtrl(0, Pong(p))
	case KindPong:
		p, err := DecodePong(f.Body)
		if err != nil {
			return err
		}
		c.rtt.Store(int64(time.Since(c.start)) - int64(p.Time))
		return nil
	case KindSessionAck:
		a, err := DecodeSessionAck(f.Body)
		if err != nil {
			return err
		}
		c.credits.ack(f.ID, a.Bytes)
		return nil
	case KindError:
		if f.ID == 0 {
			m, err := DecodeError(f.Body)
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: %s (code %d)", ErrPeer, m.Message, m.Code)
		}
	case KindSessionOpen, KindSessionVerdict, KindSessionClose:
		c.track(f.Kind, f.ID, f.Body)
	}
	if !f.Kind.Known() {
		return nil // a newer peer's extension: skipped
	}
	return c.handler(f)
}
