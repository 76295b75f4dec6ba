package origin

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/web"
	"github.com/fmsgo/fmsgo/core/wsconn"
)

// webRoutes is every route of the public web listener (-web), in one place: what browsers
// reach. HTTP-FLV and HLS will be registered here.
func (s *Server) webRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wsconn.AppPrefix, s.serveWebSocketApp) // fmsgo.v1 app clients (docs/websocket.md)
	return mux
}

// startWeb binds -web and serves webRoutes on it, over TLS when Config.WebTLS is set.
func (s *Server) startWeb(ctx context.Context) error {
	w, err := web.Listen(web.Config{Addr: s.cfg.Web, TLS: s.cfg.WebTLS, Limits: s.cfg.Limits.Accept()}, s.webRoutes(), s.log)
	if err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	s.web = w
	w.Serve(ctx)
	return nil
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

// webMetrics are the web listener's open connections and refusals (none when it is off).
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
