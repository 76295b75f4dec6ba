// Package origin is the origin server as a library: it accepts RTMP clients (directly, and later
// through edges), routes each connection to an application instance found under the apps folder,
// and serves live publish/play through the instance's stream hub. origin/cmd/origin wires it to
// flags and signals.
package origin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/record"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/vod"
	"github.com/fmsgo/fmsgo/core/web"
	"github.com/fmsgo/fmsgo/core/wsconn"
	"github.com/fmsgo/fmsgo/origin/session"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/fmsgo/fmsgo/scripting/webclient"
	"github.com/rs/zerolog"
)

// Config is the origin's configuration; the TOML keys are the flag names in snake_case.
type Config struct {
	RTMP        string `toml:"rtmp"`
	Trunk       string `toml:"trunk"`
	TrunkSecret string `toml:"trunk_secret"`
	TrunkCert   string `toml:"trunk_cert"`
	TrunkKey    string `toml:"trunk_key"`
	// TrunkClientCA, with TrunkCert and TrunkKey, makes the trunk require a client certificate
	// from every edge, signed by a CA of this PEM bundle: the edges are authenticated by TLS, so
	// a trunk beyond loopback may then run without a secret.
	TrunkClientCA string `toml:"trunk_client_ca"`
	HTTP          string `toml:"http"`
	// Web is the public web listener's address (-web; empty: off): browsers' WebSocket app
	// clients. WebOrigins are the pages, besides the server's own host, whose scripts may
	// connect (path.Match patterns of the Origin's host, or of scheme://host; "*": any page).
	// WebTLS, when set, serves it as HTTPS/wss.
	Web        string      `toml:"web"`
	WebOrigins []string    `toml:"web_origins"`
	WebTLS     *tls.Config `toml:"-"`
	Apps       string      `toml:"apps"`
	ScriptLib  string      `toml:"scriptlib"`
	Data       string      `toml:"data"`
	LogLevel   string      `toml:"log_level"`
	LogFormat  string      `toml:"log_format"`

	// TrunkSecretFile holds the secret instead of TrunkSecret (not both); the command also reads
	// trunk.SecretEnv when neither is set.
	TrunkSecretFile string `toml:"trunk_secret_file"`
	// TrunkInsecure lets a trunk listen beyond loopback without a secret (any edge may connect).
	TrunkInsecure bool `toml:"trunk_insecure"`
	// HTTPToken is the bearer token the admin listener requires, /healthz excepted (empty: none).
	HTTPToken string `toml:"http_token"`
	// hooks injects faults in tests; nil otherwise.
	hooks *serverHooks
	// clientHooks injects faults into client sessions in tests; nil otherwise.
	clientHooks *clientHooks
	// AppsEvents watches the apps folder with file events (inotify; default on). AppsPoll, if
	// set, rescans it that often, as SIGHUP does (for NFS, SMB, FUSE: see reload.go).
	AppsEvents bool          `toml:"apps_events"`
	AppsPoll   time.Duration `toml:"apps_poll"`

	// Hooks is the server-wide JavaScript hooks folder (docs/hooks.md; missing: no hooks).
	Hooks string `toml:"hooks"`

	Limits Limits `toml:"limits"`

	// Modules are the [modules."ID"] tables of the config file, one per plug-in module to run;
	// decoded into Plugins (DecodeDeferred). Plugins is the selection in config order; programs
	// configuring in Go Add to it.
	Modules plugin.Tables    `toml:"modules"`
	Plugins plugin.Selection `toml:"-"`
	// VirtualDirectories map a path prefix of the apps' File objects ("/videos") onto a host
	// folder (FMS's VirtualDirectory; relative folders against the config file's folder).
	VirtualDirectories map[string]string `toml:"virtual_directories"`
	// ConfigDir is the folder of the -config file, against which modules resolve relative paths.
	ConfigDir string `toml:"-"`
}

// Limits protect the server from hostile or broken clients.
type Limits struct {
	MaxStreamsPerConn int           `toml:"max_streams_per_conn"`
	DrainTimeout      time.Duration `toml:"drain_timeout"`
	PlayerQueueBytes  int           `toml:"player_queue_bytes"` // media a player may have waiting before it skips to the next keyframe
	// MediaFlushInterval is how long a player's live media may wait so that several messages
	// leave in one write ("40ms" when empty; negative: no coalescing, media written as it arrives);
	// MaxMediaFlushInterval is how long for a player that announces a long buffer ("200ms").
	MediaFlushInterval    time.Duration `toml:"media_flush_interval"`
	MaxMediaFlushInterval time.Duration `toml:"max_media_flush_interval"`
	// App instances (scripting.InstanceLimits; 0 = its default, negative = no limit): how many
	// run in all, per app without app.json maxInstances, and how many new ones one client address
	// may start per second (token bucket of instance_create_burst).
	MaxInstances        int     `toml:"max_instances"`
	MaxInstancesPerApp  int     `toml:"max_instances_per_app"`
	InstanceCreateRate  float64 `toml:"instance_create_rate"`
	InstanceCreateBurst int     `toml:"instance_create_burst"`
	// Bounds across an instance's callbacks (scripting.Containment; app.json overrides): its
	// estimated retained heap, and its share of a core over a window.
	InstanceMemoryMB  int             `toml:"instance_memory_mb"`
	InstanceCPUShare  float64         `toml:"instance_cpu_share"`
	InstanceCPUWindow time.Duration   `toml:"instance_cpu_window"`
	Conn              rtmpconn.Config `toml:"-"`
	Live              live.Config     `toml:"-"`

	// The RTMP listener's client limits: max_connections, max_connections_per_address,
	// accept_rate, accept_burst, handshake_timeout, max_message_bytes, connect_timeout,
	// inbound_buffer_bytes (flattened into [limits]).
	rtmpconn.ServerLimits
	// A late joiner's start: join_video_frames, join_max_behind (flattened into [limits]).
	live.JoinLimits
	// A WebSocket client's bounds: web_max_message_bytes, web_message_rate, web_message_burst,
	// web_queue_bytes, web_connect_timeout, web_idle_timeout, web_write_timeout (flattened).
	wsconn.Limits

	// SharedObjectDiskQuotaMB is each app's disk budget for persistent shared objects, all its
	// instances together, unless its app.json says sharedObjects.diskQuotaMB (0: 64, negative:
	// no limit).
	SharedObjectDiskQuotaMB int64 `toml:"shared_object_disk_quota_mb"`
	// The apps' File objects and HTTP requests (LoadVars, XML.load): each app's disk budget
	// (0: 256, negative: no limit), and each instance's request timeout, answer size cap and
	// requests under way at once (0: the defaults of scripting/webclient).
	AppFileQuotaMB     int64         `toml:"app_file_quota_mb"`
	AppHTTPTimeout     time.Duration `toml:"app_http_timeout"`
	AppHTTPMaxBody     int64         `toml:"app_http_max_body_bytes"`
	AppHTTPMaxInFlight int           `toml:"app_http_max_in_flight"`
}

// DefaultConfig returns the defaults of DESIGN.md's flags.
func DefaultConfig() Config {
	return Config{
		RTMP: ":1935", Trunk: "127.0.0.1:19350", HTTP: "127.0.0.1:8086",
		Apps: "./apps", Hooks: "./hooks", ScriptLib: "./scriptlib", Data: "./data",
		LogLevel: "info", LogFormat: "json", AppsEvents: true,
		Limits: Limits{MaxStreamsPerConn: 64, DrainTimeout: 5 * time.Second, Conn: rtmpconn.DefaultConfig()},
	}
}

// Server is one origin process's serving side.
type Server struct {
	cfg    Config
	log    zerolog.Logger
	engine *scripting.Engine
	// jsHooks runs the -hooks folder's scripts (a plug-in module in plugins); nil without one.
	jsHooks *scripting.Hooks
	// sessionEnv is what every client session shares (origin/session).
	sessionEnv *session.Env

	mu    sync.Mutex
	rtmp  *netserver.Server
	trunk *netserver.Server // edges; nil when Config.Trunk is empty
	// trunkSubs counts the streams edges pull (TrunkSubscriptions).
	trunkSubs atomic.Int64
	edges     trunkEdges    // connected edges, for per-edge metrics
	admin     *admin.Server // -http; nil when off
	web       *web.Server   // -web; nil when off
	started   bool
	// engineDone is closed when the app engine has unloaded every instance (and so flushed
	// their persistent shared objects) after ctx ended; Shutdown waits for it.
	engineDone chan struct{}
	// trunkSecret is the resolved Config.TrunkSecret/TrunkSecretFile; trunkGate limits
	// unauthenticated trunk handshakes and backs off addresses that keep failing them.
	trunkSecret []byte
	trunkGate   *trunkGate
	reload      *config.Reloader[Config] // SIGHUP (reload.go)
	// plugins run the configured plug-in modules; stopModules ends their context.
	plugins     *plugin.Host
	stopModules context.CancelFunc
	// conn is what a new client connection is configured with (Limits.Conn; a reload swaps it).
	conn atomic.Pointer[rtmpconn.Config]
}

// New checks the configuration and prepares the server; nothing listens until Start.
func New(cfg Config, log zerolog.Logger) (*Server, error) {
	given := cfg
	if cfg.Apps == "" {
		return nil, errors.New("origin: apps folder not set")
	}
	if cfg.Limits.MaxStreamsPerConn <= 0 {
		cfg.Limits.MaxStreamsPerConn = 64
	}
	if cfg.Limits.PlayerQueueBytes <= 0 {
		cfg.Limits.PlayerQueueBytes = 4 << 20 // a few seconds of a high-bitrate stream
	}
	if cfg.Limits.DrainTimeout <= 0 {
		cfg.Limits.DrainTimeout = 5 * time.Second
	}
	cfg.Limits.Conn = cfg.Limits.clientConn()
	secret, err := trunkSecret(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, trunkSecret: secret, trunkGate: newTrunkGate(), reload: config.NewReloader(given)}
	if s.jsHooks, err = withHooks(&cfg, log); err != nil {
		return nil, err
	}
	if s.plugins, err = newPluginHost(cfg, s); err != nil { // before the engine: it uses the rpc and sostore modules
		return nil, err
	}
	eng, err := scripting.NewEngine(scripting.EngineConfig{AppsDir: cfg.Apps, ScriptLibDir: cfg.ScriptLib, DataDir: cfg.Data,
		Instances: scripting.InstanceLimits{Max: cfg.Limits.MaxInstances, MaxPerApp: cfg.Limits.MaxInstancesPerApp,
			CreateRate: cfg.Limits.InstanceCreateRate, CreateBurst: cfg.Limits.InstanceCreateBurst},
		SharedObjectDiskQuotaMB: cfg.Limits.SharedObjectDiskQuotaMB,
		Contain: scripting.Containment{InstanceMemoryLimitMB: cfg.Limits.InstanceMemoryMB,
			CPUShare: cfg.Limits.InstanceCPUShare, CPUWindow: cfg.Limits.InstanceCPUWindow},
		NoFileEvents: !cfg.AppsEvents, RescanEvery: cfg.AppsPoll, Live: cfg.Limits.ApplyJoin(cfg.Limits.Live),
		VirtualDirs: virtualDirs(cfg), FileQuotaMB: cfg.Limits.AppFileQuotaMB,
		HTTP:   webclient.Config{Timeout: cfg.Limits.AppHTTPTimeout, MaxBody: cfg.Limits.AppHTTPMaxBody, MaxInFlight: cfg.Limits.AppHTTPMaxInFlight},
		Events: s.emitAppEvent, RPC: s.plugins.RPC(), SOStore: s.plugins.SOStore()}, log)
	if err != nil {
		s.stopModules()
		return nil, fmt.Errorf("origin: %w", err)
	}
	s.engine = eng
	s.conn.Store(&s.cfg.Limits.Conn)
	s.sessionEnv = &session.Env{Engine: eng, MaxStreams: cfg.Limits.MaxStreamsPerConn, Plugins: s.plugins,
		Storage: storageOf(s.plugins, cfg), Recordings: &record.Set{}, Library: vod.NewLibrary(vod.Config{})}
	return s, nil
}

// Start binds the listeners and serves until ctx is cancelled; it returns once every listener is
// bound (or with the first bind error). Shutdown drains after ctx is cancelled.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("origin: already started")
	}
	s.started = true
	if err := s.plugins.Start(ctx); err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	s.engineDone = make(chan struct{})
	go func() {
		defer close(s.engineDone)
		if err := s.engine.Run(ctx); err != nil {
			s.log.Error().Err(err).Msg("app engine stopped")
		}
	}()
	if s.cfg.RTMP != "" {
		ln, err := netserver.Listen(s.cfg.RTMP)
		if err != nil {
			return fmt.Errorf("origin: rtmp listener: %w", err)
		}
		rtmp := netserver.NewLimited(ln, s.cfg.Limits.Accept(), s.serveRTMP, s.log.With().Str("proto", "rtmp").Logger())
		rtmp.SetRefuser(rtmpconn.Refuser(s.cfg.Limits.Conn, s.log.With().Str("proto", "rtmp").Logger()))
		s.rtmp = rtmp
		s.log.Info().Str("proto", "rtmp").Str("addr", ln.Addr().String()).Msg("listening")
		go rtmp.Serve(ctx)
	}
	if s.cfg.Trunk != "" {
		if err := s.startTrunk(ctx); err != nil {
			return err
		}
	}
	if s.cfg.Web != "" {
		if err := s.startWeb(ctx); err != nil {
			return err
		}
	}
	if s.cfg.HTTP != "" {
		a, err := admin.Listen(s.cfg.HTTP, admin.RequireToken(admin.Handler("origin", s.Metrics), s.cfg.HTTPToken), s.log)
		if err != nil {
			return fmt.Errorf("origin: %w", err)
		}
		s.admin = a
	}
	return nil
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

// RTMPAddr is the bound RTMP address (nil if RTMP is disabled or not started).
func (s *Server) RTMPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtmp == nil {
		return nil
	}
	return s.rtmp.Addr()
}

// Shutdown drains: the listener is already closed by the cancelled ctx of Start; sessions get
// DrainTimeout to finish, then are closed.
func (s *Server) Shutdown() {
	s.mu.Lock()
	rtmp, tr, adm, w := s.rtmp, s.trunk, s.admin, s.web
	s.mu.Unlock()
	if adm != nil {
		defer adm.Close() // health checks answer while the clients drain
	}
	if tr != nil {
		tr.StopAccepting() // no new edges while the clients drain; the trunks close last
	}
	webDrained := make(chan struct{})
	go func() { // browsers drain alongside the RTMP clients
		defer close(webDrained)
		if w != nil {
			w.Drain(s.cfg.Limits.DrainTimeout)
		}
	}()
	if rtmp != nil {
		rtmp.Drain(s.cfg.Limits.DrainTimeout)
	}
	<-webDrained
	if tr != nil {
		tr.CloseAll()
		tr.Wait()
	}
	s.waitRecordings() // the sessions stopped them: their files are being closed
	s.waitEngine()     // unloading the instances closes their hubs
	s.stopPluginHost()
}

// recordingsStopWait bounds Shutdown's wait for the recordings to close their files (a final
// metadata rewrite and fsync each).
const recordingsStopWait = 10 * time.Second

// waitRecordings waits, bounded, for every recording's file to be closed.
func (s *Server) waitRecordings() {
	if !s.sessionEnv.Recordings.Wait(recordingsStopWait) {
		s.log.Warn().Dur("waited", recordingsStopWait).Msg("recordings still closing their files at shutdown")
	}
}

// RecordingsClosed waits up to d for every running recording's file to be closed; false if
// some still are not (a test reads the files a publish just ended).
func (s *Server) RecordingsClosed(d time.Duration) bool { return s.sessionEnv.Recordings.Wait(d) }

// engineStopWait bounds Shutdown's wait for the engine; the engine itself gives each instance's
// loop 5 s before stopping it.
const engineStopWait = 10 * time.Second

// waitEngine waits, bounded, for the engine to unload its instances, so that nothing writes
// under -data after Shutdown returns (the engine stops once Start's ctx is cancelled).
func (s *Server) waitEngine() {
	s.mu.Lock()
	done := s.engineDone
	s.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(engineStopWait):
		s.log.Warn().Dur("waited", engineStopWait).Msg("app engine still unloading instances at shutdown")
	}
}

func (s *Server) serveRTMP(ctx context.Context, nc net.Conn) {
	_ = growStack(0)
	d := newDirect(s)
	c := rtmpconn.New(nc, *s.conn.Load(), d, s.log)
	d.conn = c
	c.Log().Debug().Msg("accepted")
	err := c.Serve(ctx)
	logClose(c, err)
}

func logClose(c *rtmpconn.Conn, err error) {
	ev := c.Log().Info()
	if err != nil && !rtmpconn.IsNormalClose(err) {
		ev = c.Log().Warn().Err(err)
	}
	ev.Uint64("bytes_in", c.Stats.BytesIn.Load()).Uint64("bytes_out", c.Stats.BytesOut.Load()).Msg("closed")
}

// growStack makes the connection goroutine's stack big enough for its connect at once, while it
// is shallow: growing it later, 2 KiB at a time as the connect path (handshake, connect command,
// app verdict, plug-in checks) goes deeper, copies and re-walks a deep stack several times per
// connection. The garbage collector shrinks an idle client's stack again.
//
//go:noinline
func growStack(i int) byte {
	var pad [stackForConnect]byte
	return pad[i&(stackForConnect-1)] // the frame must exist: a byte of it is the result
}

// stackForConnect is about what a connect uses at its deepest (a power of two).
const stackForConnect = 8 << 10
