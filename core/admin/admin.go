// Package admin is the small HTTP side of the origin and the edge (`-http ADDR`): a liveness probe
// for load balancers and orchestrators, the server's counters in the Prometheus text format for
// whatever scrapes them, and the same figures as JSON for people and scripts. It has no state of
// its own: every request asks the server's Collect function for a fresh snapshot, so the numbers
// come from the goroutines that own them and nothing here needs a lock.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Kind says how a metric behaves, for the Prometheus TYPE line.
type Kind string

// Metric kinds.
const (
	Counter Kind = "counter" // only grows while the process lives
	Gauge   Kind = "gauge"   // a current level
)

// Sample is one value of a metric, with its labels (a label set names one series).
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Metric is a named family of samples.
type Metric struct {
	Name    string // fmsgo_..., snake_case
	Help    string
	Kind    Kind
	Samples []Sample
}

// Collect returns a fresh snapshot of the server's metrics.
type Collect func() []Metric

// Handler serves /healthz, /metrics and /api/stats from collect, bounded by Capped.
func Handler(server string, collect Collect) http.Handler {
	raw := collect
	collect = func() []Metric { return Capped(raw()) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		WriteText(w, collect())
	})
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"server": server, "metrics": collect()})
	})
	return mux
}

// WriteText writes metrics in the Prometheus text exposition format (version 0.0.4), families and
// series in a stable order so that diffs of two scrapes read well.
func WriteText(w interface{ Write([]byte) (int, error) }, ms []Metric) {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.Name, escapeHelp(m.Help), m.Name, m.Kind)
		samples := append([]Sample(nil), m.Samples...)
		sort.SliceStable(samples, func(i, j int) bool { return labelString(samples[i].Labels) < labelString(samples[j].Labels) })
		for _, s := range samples {
			b.WriteString(m.Name)
			b.WriteString(labelString(s.Labels))
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
			b.WriteByte('\n')
		}
	}
	w.Write([]byte(b.String()))
}

func labelString(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", k, escapeLabel(l[k]))
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// Server is a running admin listener.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log zerolog.Logger
}

// Listen binds addr and serves h on it until Close. Timeouts are short: nothing here streams, and
// a client that holds a connection open must not pin the server's resources.
func Listen(addr string, h http.Handler, log zerolog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen %s: %w", addr, err)
	}
	s := &Server{ln: ln, log: log, srv: &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
	}}
	log.Info().Str("proto", "http").Str("addr", ln.Addr().String()).Msg("listening")
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin http server stopped")
		}
	}()
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener and waits briefly for requests in flight.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}
