package edge

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/web"
	"github.com/fmsgo/fmsgo/core/wsconn"
)

// webRoutes is every route of the edge's public web listener (-web), in one place.
func (s *Server) webRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wsconn.AppPrefix, s.serveWebSocketApp) // fmsgo.v1 app clients (docs/websocket.md)
	mux.HandleFunc("GET /rtmp", s.serveRTMPTunnel)               // raw RTMP in binary frames (websockify)
	return mux
}

// serveRTMPTunnel is GET /rtmp: an RTMP connection whose bytes travel in binary WebSocket
// frames (an in-browser RTMP implementation, a websockify-style socket tunnel), served as any
// RTMP client of the edge, with the RTMP limits; the frames are capped by web_max_message_bytes.
func (s *Server) serveRTMPTunnel(w http.ResponseWriter, r *http.Request) {
	nc, err := wsconn.AcceptTunnel(w, r, s.cfg.WebOrigins, s.cfg.Limits.Limits.OrDefaults().WebMaxMessageBytes)
	if err != nil {
		s.log.Debug().Err(err).Str("proto", "ws").Str("remote", r.RemoteAddr).Msg("RTMP tunnel upgrade refused")
		return
	}
	s.serveRTMP(r.Context(), nc)
}

// startWeb binds -web (if set) and serves webRoutes on it; the caller holds s.mu.
func (s *Server) startWeb(ctx context.Context) error {
	if s.cfg.Web == "" {
		return nil
	}
	w, err := web.Listen(web.Config{Addr: s.cfg.Web, TLS: s.cfg.WebTLS, Limits: s.cfg.Limits.Accept()}, s.webRoutes(), s.log)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	s.web = w
	w.Serve(ctx)
	return nil
}

// drainBoth drains the RTMP and the web listener's clients at the same time.
func drainBoth(rtmp *netserver.Server, w *web.Server, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w != nil {
			w.Drain(timeout)
		}
	}()
	rtmp.Drain(timeout)
	<-done
}

// WebAddr is the bound web address (nil if -web is off or not started).
func (s *Server) WebAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.web == nil {
		return nil
	}
	return s.web.Addr()
}

// webMetrics adds the web listener's open connections to conns and returns its refusals.
func (s *Server) webMetrics(conns *admin.Metric) []admin.Metric {
	s.mu.Lock()
	w := s.web
	s.mu.Unlock()
	if w == nil {
		return nil
	}
	conns.Samples = append(conns.Samples, admin.Sample{Labels: map[string]string{"listener": "web"}, Value: float64(w.Count())})
	return []admin.Metric{w.RefusedMetric()}
}
