package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

// trunkState is one established trunk and the Mux routing its sessions.
type trunkState struct {
	conn    *trunk.Conn
	mux     *trunk.Mux
	streams *streams
	log     zerolog.Logger
}

// originLink keeps one trunk to one origin: it dials, authenticates, serves, and redials with
// backoff when the trunk dies. Its state is owned by run; readers take a snapshot under mu.
type originLink struct {
	srv      *Server
	addr     string
	tls      *tls.Config // nil: plain TCP
	log      zerolog.Logger
	failures atomic.Uint64 // dials that failed and trunks lost, for metrics

	mu      sync.Mutex
	cur     *trunkState
	lastErr error
	down    bool          // a dial failed or the trunk was lost (not just "not dialled yet")
	changed chan struct{} // closed and replaced at every state change
}

func newOriginLink(s *Server, addr string, tlsConf *tls.Config) *originLink {
	return &originLink{srv: s, addr: addr, tls: tlsConf, changed: make(chan struct{}),
		log:     s.log.With().Str("proto", "trunk").Str("origin", addr).Logger(),
		lastErr: errors.New("trunk not established yet")}
}

// run keeps the trunk up until ctx ends.
func (l *originLink) run(ctx context.Context) {
	lim := l.srv.cfg.Limits
	backoff := lim.ReconnectMin
	var rep dialReport
	for ctx.Err() == nil {
		st, err := l.dial(ctx)
		if err != nil {
			l.set(nil, err)
			rep.failed(l.log, err, backoff, time.Now())
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, lim.ReconnectMax)
			continue
		}
		backoff = lim.ReconnectMin
		l.set(st, nil)
		rep.up(l.log)
		err = st.conn.Serve(ctx)
		// Players first get UnpublishNotify (queued synchronously by the hubs), then their
		// session's NetConnection.Connect.Closed: the order FMS clients expect.
		st.streams.close()
		st.mux.CloseAll(trunk.CodeShutdown, "trunk to the origin lost")
		l.set(nil, fmt.Errorf("trunk to origin %s lost: %w", l.addr, err))
	}
}

// dialReport logs an origin's failed dials without crying wolf: an origin that is not up yet
// when the edge starts (the usual start order of a host or a cluster) is an info line, a spell
// of failures becomes a warning once it has lasted dialWarnAfter and is repeated, as a count,
// every dialWarnEvery. Refusals that no retry fixes (a wrong secret, version or certificate)
// are errors at once. It belongs to the link's run goroutine.
type dialReport struct {
	everUp         bool
	attempts       int
	since, lastLog time.Time
}

const (
	dialWarnAfter = 5 * time.Second
	dialWarnEvery = 30 * time.Second
)

func (r *dialReport) failed(log zerolog.Logger, err error, retry time.Duration, now time.Time) {
	r.attempts++
	if r.attempts == 1 {
		r.since = now
	}
	switch {
	case errors.Is(err, trunk.ErrAuth) || errors.Is(err, trunk.ErrVersion) || errors.Is(err, trunk.ErrTLS):
		if r.attempts == 1 || now.Sub(r.lastLog) >= dialWarnEvery {
			log.Error().Err(err).Int("attempts", r.attempts).Dur("retry_in", retry).Msg("trunk refused by the origin")
			r.lastLog = now
		}
	case r.attempts == 1:
		msg := "origin not reachable yet; retrying"
		if r.everUp {
			msg = "origin unreachable; retrying"
		}
		// "cause", not "error": an expected state is not shown as an error in console logs.
		log.Info().Str("cause", err.Error()).Dur("retry_in", retry).Msg(msg)
		r.lastLog = now
	case now.Sub(r.since) >= dialWarnAfter && (r.lastLog.Equal(r.since) || now.Sub(r.lastLog) >= dialWarnEvery):
		log.Warn().Err(err).Int("attempts", r.attempts).Dur("down_for", now.Sub(r.since).Round(time.Second)).
			Dur("retry_in", retry).Msg("origin still unreachable")
		r.lastLog = now
	}
}

func (r *dialReport) up(log zerolog.Logger) {
	ev := log.Info()
	if r.attempts > 0 {
		ev = ev.Int("failed_dials", r.attempts)
	}
	ev.Msg("trunk up")
	r.everUp, r.attempts = true, 0
}

func (l *originLink) dial(ctx context.Context) (*trunkState, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, fmt.Errorf("dial origin %s: %w", l.addr, err)
	}
	if l.tls != nil {
		tc, err := trunk.ClientTLS(ctx, nc, l.tls)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("trunk TLS with origin %s: %w", l.addr, err)
		}
		nc = tc
	}
	link, err := trunk.ClientHandshake(nc, trunk.HandshakeConfig{ID: l.srv.ID(), Secret: l.srv.trunkSecret})
	if err != nil && l.tls != nil {
		err = trunk.ClientCertRefused(err)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("trunk handshake with origin %s: %w", l.addr, err)
	}
	cfg := l.srv.cfg.Limits.Trunk
	cfg.Log = l.log
	st := &trunkState{streams: newStreams(), log: l.log}
	st.conn = trunk.NewConn(link, cfg, func(f trunk.Frame) error {
		defer st.recoverFrame(f)
		if !st.mux.Dispatch(f) { // session frames of gone sessions are dropped
			st.onStreamFrame(f)
		}
		return nil
	})
	st.mux = trunk.NewMux(st.conn)
	return st, nil
}

func (l *originLink) set(st *trunkState, err error) {
	l.mu.Lock()
	l.cur, l.lastErr, l.down = st, err, st == nil
	if st == nil {
		l.failures.Add(1)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *originLink) current() (*trunkState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.lastErr
}

// isDown says the origin is known to be unreachable: a dial failed or the trunk was lost, and it
// has not come back yet (an edge that has not finished its first dial is not "down").
func (l *originLink) isDown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// get returns the established trunk, waiting for it until ctx ends. A trunk refused for its
// credentials, version or TLS setting fails at once: waiting would not change the answer.
func (l *originLink) get(ctx context.Context) (*trunkState, error) {
	for {
		l.mu.Lock()
		cur, err, ch := l.cur, l.lastErr, l.changed
		l.mu.Unlock()
		if cur != nil {
			return cur, nil
		}
		if errors.Is(err, trunk.ErrAuth) || errors.Is(err, trunk.ErrVersion) || errors.Is(err, trunk.ErrTLS) {
			return nil, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, err
		}
	}
}

// unavailableReason is what a client is told when its origin cannot be reached: the cause
// without the origin's address, port or network error, which describe the operator's internal
// network to anyone who connects (the edge's log has them).
func unavailableReason(err error) string {
	switch {
	case errors.Is(err, trunk.ErrAuth):
		return "the application's origin server refused this edge's authentication (see the edge's log)."
	case errors.Is(err, trunk.ErrVersion):
		return "this edge and the application's origin server speak different trunk versions (see the edge's log)."
	case errors.Is(err, trunk.ErrTLS):
		return "the TLS link between this edge and the application's origin server failed (see the edge's log)."
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "the application's origin server did not answer in time; try again later."
	}
	return "the application's origin server cannot be reached; try again later."
}

// route finds the trunk for a new connection of instance key: its origin's, waiting for it
// until ctx ends. With Failover, an origin known to be down is skipped for the next one in hash
// order whose trunk is up.
func (s *Server) route(ctx context.Context, key string) (*trunkState, error) {
	order := s.originOrder(key)
	primary := s.links[order[0]]
	if s.cfg.Failover && len(s.links) > 1 && primary.isDown() {
		for _, i := range order[1:] {
			if st, _ := s.links[i].current(); st != nil {
				s.log.Info().Str("instance", key).Str("origin", primary.addr).Str("failover_to", s.links[i].addr).
					Msg("origin down: connection routed to the next origin")
				return st, nil
			}
		}
	}
	return primary.get(ctx)
}

// originOrder is where instance key goes: its route's origin if the config pins it, else the
// hash's, then (for failover) the others in hash order.
func (s *Server) originOrder(key string) []int {
	order := rankOrigins(s.cfg.Origins, key)
	routes := *s.routes.Load()
	pinned, ok := routes[key]
	if !ok {
		app, _, _ := strings.Cut(key, "/")
		pinned, ok = routes[app]
	}
	if !ok || order[0] == pinned {
		return order
	}
	out := append(make([]int, 0, len(order)), pinned)
	for _, i := range order {
		if i != pinned {
			out = append(out, i)
		}
	}
	return out
}

// compileRoutes checks the route table: each key an app or app/instance, each target one of the
// origins (by its -origins spelling).
func compileRoutes(origins []string, routes map[string]string) (map[string]int, error) {
	out := make(map[string]int, len(routes))
	for key, target := range routes {
		app, inst, hasInst := strings.Cut(key, "/")
		if app == "" || (hasInst && inst == "") {
			return nil, fmt.Errorf("route %q: want APP or APP/INSTANCE", key)
		}
		i := slices.Index(origins, target)
		if i < 0 {
			return nil, fmt.Errorf("route %q -> %q: not one of the origins %v", key, target, origins)
		}
		out[key] = i
	}
	return out, nil
}

// pickOrigin chooses the origin of an app instance by rendezvous hashing: every edge picks the
// same origin for the same instance (so an instance lives on one origin), and removing an origin
// moves only the instances it owned.
func pickOrigin(origins []string, key string) int {
	best, bestScore := 0, uint64(0)
	for i, o := range origins {
		if sc := originScore(o, key); i == 0 || sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

// rankOrigins lists the origins' indexes in hash order for key: the first is pickOrigin's, and
// each next one is where the instance goes when those before it are down (failover). Every edge
// computes the same order, so failed-over clients of one instance still meet on one origin.
func rankOrigins(origins []string, key string) []int {
	order := make([]int, len(origins))
	scores := make([]uint64, len(origins))
	for i, o := range origins {
		order[i], scores[i] = i, originScore(o, key)
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order
}

func originScore(origin, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(origin))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finaliser: FNV alone spreads similar keys poorly over few origins.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// instanceKey is "app/instance" of a connect request (the instance defaults to _definst_), the
// unit an origin owns.
func instanceKey(appField, tcURL string) string {
	path := appField
	if strings.TrimSpace(path) == "" && tcURL != "" {
		if u, err := url.Parse(tcURL); err == nil {
			path = u.Path
		}
	}
	path, _, _ = strings.Cut(path, "?")
	path = strings.Trim(path, "/")
	app, inst, _ := strings.Cut(path, "/")
	if inst == "" {
		inst = "_definst_"
	}
	return app + "/" + inst
}
