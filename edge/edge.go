// Package edge is the edge server as a library: it holds the client connections and carries each
// one to the origin that owns its application instance, over ONE trunk connection per origin
// (core/trunk), so that origins see a handful of sockets instead of thousands and a new client
// costs no TCP handshake to the origin. edge/cmd/edge wires it to flags and signals.
package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/web"
	"github.com/fmsgo/fmsgo/core/wsconn"
	"github.com/rs/zerolog"
)

// Config is the edge's configuration; the TOML keys are the flag names in snake_case.
type Config struct {
	RTMP        string   `toml:"rtmp"`
	Origins     []string `toml:"origins"` // trunk addresses, host:port
	ID          string   `toml:"id"`      // default: host name + RTMP port
	TrunkSecret string   `toml:"trunk_secret"`
	TrunkTLS    bool     `toml:"trunk_tls"`
	TrunkCA     string   `toml:"trunk_ca"`
	// TrunkCert and TrunkKey are the edge's client certificate, for origins that require one
	// (-trunk-client-ca there); they need TrunkTLS.
	TrunkCert string `toml:"trunk_cert"`
	TrunkKey  string `toml:"trunk_key"`
	// TrunkSecretFile holds the secret instead of TrunkSecret (not both); the command also reads
	// trunk.SecretEnv when neither is set.
	TrunkSecretFile string `toml:"trunk_secret_file"`
	// hooks injects faults in tests; nil otherwise.
	hooks *edgeHooks
	// clientHooks injects faults into client sessions in tests; nil otherwise.
	clientHooks *clientHooks
	// Failover routes new connections of an instance whose origin is down to the next origin in
	// hash order (its state on the failed origin is not there); off, they are rejected.
	Failover bool `toml:"failover"`
	// Routes pins instances to origins, overriding the hash: "APP/INSTANCE" or "APP" (all its
	// instances) to one of Origins. TOML only: a [routes] table.
	Routes    map[string]string `toml:"routes"`
	HTTP      string            `toml:"http"`
	HTTPToken string            `toml:"http_token"` // bearer token the admin listener requires (empty: none)
	// Web is the public web listener's address (-web; empty: off): browsers' WebSocket app
	// clients, carried to the origins like RTMP clients. WebOrigins and WebTLS as on the origin.
	Web        string      `toml:"web"`
	WebOrigins []string    `toml:"web_origins"`
	WebTLS     *tls.Config `toml:"-"`
	LogLevel   string      `toml:"log_level"`
	LogFormat  string      `toml:"log_format"`

	Limits Limits `toml:"limits"`
}

// Limits bound what clients and origins can cost the edge.
type Limits struct {
	DrainTimeout time.Duration `toml:"drain_timeout"`
	// OriginWait is how long a connect waits for its origin's trunk to come up before the client
	// is rejected (a trunk that failed authentication rejects at once).
	OriginWait   time.Duration   `toml:"origin_wait"`
	ReconnectMin time.Duration   `toml:"reconnect_min"` // first redial delay after a trunk failure
	ReconnectMax time.Duration   `toml:"reconnect_max"` // the delay doubles up to this
	Conn         rtmpconn.Config `toml:"-"`
	Trunk        trunk.Config    `toml:"-"`

	// The RTMP listener's client limits: max_connections, max_connections_per_address,
	// accept_rate, accept_burst, handshake_timeout, max_message_bytes, connect_timeout,
	// inbound_buffer_bytes (flattened into [limits]).
	rtmpconn.ServerLimits
	// A late joiner's start: join_video_frames, join_max_behind (flattened into [limits]).
	live.JoinLimits
	// A WebSocket client's bounds: the web_* keys (flattened into [limits]).
	wsconn.Limits
}

// DefaultConfig returns the defaults of DESIGN.md's flags.
func DefaultConfig() Config {
	return Config{
		RTMP: ":1935", HTTP: "127.0.0.1:8087", LogLevel: "info", LogFormat: "json",
		Limits: Limits{DrainTimeout: 5 * time.Second, OriginWait: 5 * time.Second,
			ReconnectMin: 100 * time.Millisecond, ReconnectMax: 5 * time.Second,
			Conn: rtmpconn.DefaultConfig(), Trunk: trunk.DefaultConfig()},
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultConfig().Limits
	if l.DrainTimeout <= 0 {
		l.DrainTimeout = d.DrainTimeout
	}
	if l.OriginWait <= 0 {
		l.OriginWait = d.OriginWait
	}
	if l.ReconnectMin <= 0 {
		l.ReconnectMin = d.ReconnectMin
	}
	if l.ReconnectMax < l.ReconnectMin {
		l.ReconnectMax = max(d.ReconnectMax, l.ReconnectMin)
	}
	return l
}

// Server is one edge process's serving side.
type Server struct {
	cfg    Config
	log    zerolog.Logger
	links  []*originLink                  // one per -origins entry, in that order
	routes atomic.Pointer[map[string]int] // Config.Routes as indexes into links (a reload swaps it)
	nextID atomic.Uint32                  // session ids: never 0, from one counter for all trunks
	// trunkSecret is the resolved Config.TrunkSecret/TrunkSecretFile (nil: none).
	trunkSecret []byte

	mu      sync.Mutex
	rtmp    *netserver.Server
	admin   *admin.Server // -http; nil when off
	web     *web.Server   // -web; nil when off
	cancel  context.CancelFunc
	linksWG sync.WaitGroup
	started bool
	reload  *config.Reloader[Config] // SIGHUP (reload.go)
	// conn is what a new client connection is configured with (Limits.Conn; a reload swaps it).
	conn atomic.Pointer[rtmpconn.Config]
}

// New checks the configuration; nothing dials or listens until Start.
func New(cfg Config, log zerolog.Logger) (*Server, error) {
	given := cfg
	if len(cfg.Origins) == 0 {
		return nil, errors.New("edge: no origins configured (-origins host:port,...)")
	}
	if (cfg.TrunkCert != "" || cfg.TrunkKey != "") && !cfg.TrunkTLS {
		return nil, errors.New("edge: -trunk-cert/-trunk-key are a TLS client certificate: they need -trunk-tls")
	}
	if cfg.TrunkCA != "" && !cfg.TrunkTLS {
		return nil, errors.New("edge: -trunk-ca needs -trunk-tls")
	}
	cfg.Limits = cfg.Limits.withDefaults()
	cfg.Limits.Conn = cfg.Limits.Apply(cfg.Limits.Conn)
	routes, err := compileRoutes(cfg.Origins, cfg.Routes)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	secret, err := trunk.LoadSecret(cfg.TrunkSecret, cfg.TrunkSecretFile)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	s := &Server{cfg: cfg, log: log, trunkSecret: secret, reload: config.NewReloader(given)}
	s.routes.Store(&routes)
	s.conn.Store(&s.cfg.Limits.Conn)
	for _, addr := range cfg.Origins {
		var tlsConf *tls.Config
		if cfg.TrunkTLS {
			var err error
			if tlsConf, err = trunk.ClientTLSConfig(cfg.TrunkCA, addr); err == nil && (cfg.TrunkCert != "" || cfg.TrunkKey != "") {
				err = trunk.WithClientCert(tlsConf, cfg.TrunkCert, cfg.TrunkKey)
			}
			if err != nil {
				return nil, fmt.Errorf("edge: %w", err)
			}
		}
		s.links = append(s.links, newOriginLink(s, addr, tlsConf))
	}
	return s, nil
}

// Start binds the RTMP listener and starts one trunk per origin; it returns once the listener
// is bound. The trunks dial in the background (a client's connect waits for its origin's).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("edge: already started")
	}
	s.started = true
	ln, err := netserver.Listen(s.cfg.RTMP)
	if err != nil {
		return fmt.Errorf("edge: rtmp listener: %w", err)
	}
	if s.cfg.ID == "" {
		host, _ := os.Hostname()
		s.cfg.ID = fmt.Sprintf("%s:%d", host, ln.Addr().(*net.TCPAddr).Port)
	}
	if s.cfg.HTTP != "" {
		a, err := admin.Listen(s.cfg.HTTP, admin.RequireToken(admin.Handler("edge", s.Metrics), s.cfg.HTTPToken), s.log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("edge: %w", err)
		}
		s.admin = a
	}
	ctx, s.cancel = context.WithCancel(ctx)
	for _, l := range s.links {
		s.linksWG.Add(1)
		go func() { defer s.linksWG.Done(); l.run(ctx) }()
	}
	if err := s.startWeb(ctx); err != nil {
		ln.Close()
		return err
	}
	s.rtmp = netserver.NewLimited(ln, s.cfg.Limits.Accept(), s.serveRTMP, s.log.With().Str("proto", "rtmp").Logger())
	s.rtmp.SetRefuser(rtmpconn.Refuser(s.cfg.Limits.Conn, s.log.With().Str("proto", "rtmp").Logger()))
	s.log.Info().Str("proto", "rtmp").Str("addr", ln.Addr().String()).Str("edge", s.cfg.ID).Msg("listening")
	go s.rtmp.Serve(ctx)
	return nil
}

// RTMPAddr is the bound RTMP address (nil before Start).
func (s *Server) RTMPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtmp == nil {
		return nil
	}
	return s.rtmp.Addr()
}

// HTTPAddr is the bound admin address (nil if -http is off or not started).
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		return nil
	}
	return s.admin.Addr()
}

// ID is the edge id sent to the origins (the app's client.edge.id).
func (s *Server) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.ID
}

// Shutdown drains the clients for DrainTimeout, closes the rest, then the trunks.
func (s *Server) Shutdown() {
	s.mu.Lock()
	rtmp, cancel, adm, w := s.rtmp, s.cancel, s.admin, s.web
	s.mu.Unlock()
	if rtmp == nil {
		return
	}
	if adm != nil {
		defer adm.Close() // health checks answer while the clients drain
	}
	drainBoth(rtmp, w, s.cfg.Limits.DrainTimeout)
	cancel()
	s.linksWG.Wait()
}

// TrunksUp counts the origins whose trunk is currently established.
func (s *Server) TrunksUp() int {
	n := 0
	for _, l := range s.links {
		if st, _ := l.current(); st != nil {
			n++
		}
	}
	return n
}

func (s *Server) newSessionID() uint32 {
	for {
		if id := s.nextID.Add(1); id != 0 {
			return id
		}
	}
}

func (s *Server) serveRTMP(ctx context.Context, nc net.Conn) {
	cs := &clientSession{srv: s, verdict: make(chan bool, 1)}
	c := rtmpconn.New(nc, *s.conn.Load(), cs, s.log)
	cs.conn = c
	err := c.Serve(ctx)
	ev := c.Log().Debug()
	if err != nil && !rtmpconn.IsNormalClose(err) {
		ev = c.Log().Info().Err(err)
	}
	ev.Msg("closed")
}
