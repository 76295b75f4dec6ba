// Package web is the public HTTP listener of the origin and the edge (-web ADDR), separate from
// the admin listener (-http): what browsers reach (WebSocket apps today, HTTP-FLV and HLS next),
// over plain HTTP or TLS. Its connections go through core/netserver first, so the limits every
// listener of the project has (connections in all and per address, an accept rate) hold here
// too and a shutdown drains them like RTMP clients; net/http then serves them, with timeouts
// that bound a request's headers but not a stream or a WebSocket that follows.
package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/rs/zerolog"
)

// Config is one web listener.
type Config struct {
	Addr string
	// TLS, when set, serves HTTPS (and wss:// for WebSocket); nil serves plain HTTP.
	TLS *tls.Config
	// Limits are the accept-time limits (netserver.Limits.OrDefaults reads zero fields).
	Limits netserver.Limits
}

// Server is a running web listener.
type Server struct {
	ns   *netserver.Server
	hs   *http.Server
	ln   *connListener
	tls  bool
	log  zerolog.Logger
	stop sync.Once
}

// Listen binds cfg.Addr and prepares to serve h; nothing is accepted until Serve.
func Listen(cfg Config, h http.Handler, log zerolog.Logger) (*Server, error) {
	raw, err := netserver.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen %s: %w", cfg.Addr, err)
	}
	log = log.With().Str("proto", "web").Logger()
	s := &Server{ln: newConnListener(raw.Addr()), tls: cfg.TLS != nil, log: log}
	s.hs = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second,
		MaxHeaderBytes: 16 << 10, ErrorLog: httpErrorLog(log)}
	s.ns = netserver.NewLimited(raw, cfg.Limits.OrDefaults(), s.handoff(cfg.TLS), log)
	s.ns.SetRefuser(refuseHTTP)
	return s, nil
}

// Serve accepts until ctx is cancelled (Drain then ends the connections); it returns at once.
func (s *Server) Serve(ctx context.Context) {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	s.log.Info().Str("addr", s.Addr().String()).Str("scheme", scheme).Msg("listening")
	s.hs.BaseContext = func(net.Listener) context.Context { return ctx } // requests see the shutdown
	go func() {
		if err := s.hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error().Err(err).Msg("web server stopped")
		}
	}()
	go s.ns.Serve(ctx)
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the listener serves HTTPS.
func (s *Server) TLS() bool { return s.tls }

// Count is the number of connections open (HTTP requests and WebSockets alike).
func (s *Server) Count() int { return s.ns.Count() }

// RefusedMetric is the listener's refusals at accept (fmsgo_connections_refused_total).
func (s *Server) RefusedMetric() admin.Metric { return s.ns.RefusedMetric("web") }

// Drain stops accepting, closes idle HTTP connections, gives the others (WebSockets, streams)
// up to timeout to end, then closes what remains and waits for it.
func (s *Server) Drain(timeout time.Duration) {
	s.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		go func() { _ = s.hs.Shutdown(ctx) }() // idle keep-alive connections close now
		s.ns.Drain(timeout)
		s.ln.Close()
	})
}

// handoff is the netserver handler: it gives the connection to net/http and returns once net/http
// (or whoever took the connection over, a WebSocket) has closed it, so that netserver's count
// and drain cover the whole life of the connection.
func (s *Server) handoff(cfg *tls.Config) netserver.Handler {
	return func(ctx context.Context, nc net.Conn) {
		tc := &trackedConn{Conn: nc, closed: make(chan struct{})}
		var hc net.Conn = tc
		if cfg != nil {
			hc = tls.Server(tc, cfg) // net/http runs the handshake under ReadHeaderTimeout
		}
		select {
		case s.ln.conns <- hc:
		case <-s.ln.done:
			_ = nc.Close()
			return
		case <-ctx.Done():
			_ = nc.Close()
			return
		}
		<-tc.closed
	}
}

// refuseHTTP answers a connection the limits refused with 503 and why, bounded in time. The
// request's head is read first (16 KiB at most): an HTTP client takes an answer that comes
// before its request was sent for a broken connection. Then the write side is shut and what
// is left is read away, because closing a socket with unread bytes resets it, and a reset can
// destroy the answer before the client reads it.
func refuseHTTP(_ context.Context, c net.Conn, reason string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if !readRequestHead(c, 16<<10) {
		return
	}
	body := netserver.RefusalDescription(reason) + "\n"
	_, err := fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s", len(body), body)
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 16<<10))
}

// readRequestHead reads until the blank line that ends a request's head, at most limit bytes;
// false if the client sent none in time.
func readRequestHead(c net.Conn, limit int) bool {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for len(buf) < limit {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return true // a head this long gets its answer all the same
}

// connListener is the listener net/http serves: netserver's handlers hand it the connections its
// limits let through.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// trackedConn tells its netserver handler when it is closed.
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// httpErrorLog sends net/http's own complaints (TLS handshakes that failed, malformed requests)
// to the debug log: any client on the Internet can cause them.
func httpErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(debugWriter{l}, "", 0)
}

type debugWriter struct{ l zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.l.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
