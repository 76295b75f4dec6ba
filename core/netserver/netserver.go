// Package netserver is the accept loop shared by the origin and the edge: it backs off on accept
// errors instead of spinning (EMFILE under load), refuses at accept what its Limits do not allow
// (a global cap, a cap per peer address, an accept rate per address), tracks every live connection
// so that shutdown can drain them, and hands each connection to a handler on its own goroutine.
package netserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Handler serves one accepted connection; it returns when the connection is done. ctx is
// cancelled when the server shuts down.
type Handler func(ctx context.Context, c net.Conn)

// Server accepts connections on one listener.
type Server struct {
	ln      net.Listener
	handle  Handler
	log     zerolog.Logger
	lim     Limits
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]netip.Addr // being served, with the peer's address key
	addrs   map[netip.Addr]*addrState
	serving chan struct{} // closed when Serve returns
	refused struct{ global, perAddress, rate atomic.Uint64 }
	// the accept goroutine's: when refusals were last logged, and how many since
	refusedLogAt  time.Time
	quietRefusals int
	// refuser answers refused connections (SetRefuser); answering holds the addresses being
	// answered (s.mu).
	refuser   Refuser
	answering map[netip.Addr]struct{}
	reap      chan net.Conn // refused connections for reapRefused to reset (the accept loop's)
}

// New wraps a bound listener with only a global cap: maxConns 0 means no limit (see NewLimited).
func New(ln net.Listener, maxConns int, h Handler, log zerolog.Logger) *Server {
	return NewLimited(ln, Limits{MaxConns: maxConns}, h, log)
}

// NewLimited wraps a bound listener. A connection its limits do not allow is closed at accept,
// before any byte is read (and logged as periodic counts), which protects the process's file
// descriptors and memory from one address or a crowd.
func NewLimited(ln net.Listener, lim Limits, h Handler, log zerolog.Logger) *Server {
	return &Server{ln: ln, handle: h, log: log, lim: lim, conns: make(map[net.Conn]netip.Addr),
		addrs: make(map[netip.Addr]*addrState), serving: make(chan struct{})}
}

// Listen binds an RTMP listener. Its connections get no TCP keep-alive: liveness is the RTMP
// layer's business (a silent peer is pinged, and closed if it does not answer; see rtmpconn's
// IdleTimeout), and keep-alive cost four socket options on every accepted connection.
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", addr)
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts until ctx is cancelled or the listener fails for good. It closes the listener
// when ctx ends, but leaves open connections to their handlers (see Wait and CloseAll).
func (s *Server) Serve(ctx context.Context) error {
	defer close(s.serving)
	s.reap = make(chan net.Conn, reapQueue)
	go reapRefused(s.reap)
	defer close(s.reap)
	stop := context.AfterFunc(ctx, func() { _ = s.ln.Close() })
	defer stop()
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = nextBackoff(backoff)
			s.log.Warn().Err(err).Dur("backoff", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		backoff = 0
		now := time.Now()
		if key, reason := s.track(c, now); reason != "" {
			s.refuse(ctx, c, key, reason, now)
			continue
		}
		s.wg.Add(1)
		go s.serveConn(ctx, c)
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	if d *= 2; d > time.Second {
		d = time.Second
	}
	return d
}

// track admits c under the limits and records it; it returns the peer's address key and the
// refusal reason, or "".
func (s *Server) track(c net.Conn, now time.Time) (netip.Addr, string) {
	key := addrKey(c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason := s.admit(key, now); reason != "" {
		return key, reason
	}
	s.conns[c] = key
	return key, ""
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.release(s.conns[c])
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	defer s.recoverPanic(c)
	s.handle(ctx, c) // Nagle is off already: Go's default for accepted TCP connections
}

// recoverPanic is the last panic boundary of a connection's goroutine (the handlers keep their
// own, which also release what the connection held): a panic that reaches it is logged at error
// level with its stack, and only that connection is closed.
func (s *Server) recoverPanic(c net.Conn) {
	if v := recover(); v != nil {
		s.log.Error().Str("remote", c.RemoteAddr().String()).Str("panic", fmt.Sprint(v)).
			Str("stack", string(debug.Stack())).Msg("panic while serving a connection: closing it")
	}
}

// StopAccepting closes the listener and returns once the accept loop has ended, so that the
// address is free again (a restart can bind it). Serve must have been started.
func (s *Server) StopAccepting() {
	_ = s.ln.Close()
	<-s.serving
}

// Drain stops accepting, gives the connections being served up to timeout to finish, then
// closes the rest and waits for their handlers: the shutdown of every listener of the project.
func (s *Server) Drain(timeout time.Duration) {
	s.StopAccepting()
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(timeout):
	}
	s.log.Info().Int("connections", s.Count()).Msg("drain timeout: closing remaining connections")
	s.CloseAll()
	<-done
}

// Count is the number of connections being served.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseAll closes every tracked connection (the last step of a drain).
func (s *Server) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// Wait blocks until every handler has returned.
func (s *Server) Wait() { s.wg.Wait() }
