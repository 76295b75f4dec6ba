package origin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

// trunkSecret resolves the configured secret and refuses a trunk that any machine could reach
// without one, unless the edges are authenticated otherwise (TLS with client certificates:
// -trunk-client-ca) or the operator said so (-trunk-insecure). TLS alone does not count: it
// authenticates the origin to the edge, not the edge to the origin.
func trunkSecret(cfg Config) ([]byte, error) {
	secret, err := trunk.LoadSecret(cfg.TrunkSecret, cfg.TrunkSecretFile)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	if cfg.TrunkClientCA != "" && (cfg.TrunkCert == "" || cfg.TrunkKey == "") {
		return nil, errors.New("origin: -trunk-client-ca needs TLS on the trunk: -trunk-cert and -trunk-key")
	}
	edgesProve := len(secret) > 0 || cfg.TrunkClientCA != ""
	if cfg.Trunk != "" && !edgesProve && !cfg.TrunkInsecure && trunk.ListensBeyondLoopback(cfg.Trunk) {
		return nil, fmt.Errorf("origin: the trunk %q listens beyond loopback without a secret: set -trunk-secret-file, "+
			"%s or -trunk-secret (the edges need the same), or -trunk-client-ca with TLS to require edge certificates, "+
			"or -trunk-insecure to let any edge connect", cfg.Trunk, trunk.SecretEnv)
	}
	return secret, nil
}

// startTrunk binds the edges' listener. Without a secret any edge may connect, which New allows
// beyond loopback only with -trunk-insecure: say so loudly then.
func (s *Server) startTrunk(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Trunk)
	if err != nil {
		return fmt.Errorf("origin: trunk listener: %w", err)
	}
	log := s.log.With().Str("proto", "trunk").Logger()
	var tlsConf *tls.Config
	if s.cfg.TrunkCert != "" || s.cfg.TrunkKey != "" {
		if tlsConf, err = trunk.ServerTLSConfig(s.cfg.TrunkCert, s.cfg.TrunkKey); err == nil && s.cfg.TrunkClientCA != "" {
			err = trunk.RequireClientCerts(tlsConf, s.cfg.TrunkClientCA)
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("origin: %w", err)
		}
	}
	tr := netserver.New(ln, 0, func(ctx context.Context, nc net.Conn) { s.serveTrunk(ctx, nc, tlsConf) }, log)
	s.trunk = tr
	log.Info().Str("addr", ln.Addr().String()).Bool("tls", tlsConf != nil).Bool("client_certs", s.cfg.TrunkClientCA != "").Msg("listening")
	if len(s.trunkSecret) == 0 && s.cfg.TrunkClientCA == "" && !isLoopback(ln.Addr()) {
		log.Warn().Str("addr", ln.Addr().String()).Msg("trunk listens beyond loopback without a secret (-trunk-insecure): any edge may connect")
	}
	go tr.Serve(ctx)
	return nil
}

// trunkTLSSniff is how long a TLS trunk waits for the edge's ClientHello: a TLS edge sends it at
// once, so silence means an edge without -trunk-tls waiting for our plain hello.
const trunkTLSSniff = 2 * time.Second

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// TrunkAddr is the bound trunk address (nil if the trunk is disabled or not started).
func (s *Server) TrunkAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trunk == nil {
		return nil
	}
	return s.trunk.Addr()
}

// TrunkConns counts the edges' TCP connections: one per edge, however many clients it carries.
func (s *Server) TrunkConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trunk == nil {
		return 0
	}
	return s.trunk.Count()
}

// trunkHandshakeTimeout bounds everything before an edge is authenticated (TLS included): an
// edge answers in a round trip or two, a socket that says nothing gives its slot back soon.
const trunkHandshakeTimeout = 5 * time.Second

// serveTrunk authenticates one edge and serves its sessions until the trunk ends; then every
// session it carried is disconnected from its app.
func (s *Server) serveTrunk(ctx context.Context, nc net.Conn, tlsConf *tls.Config) {
	remote := nc.RemoteAddr().String()
	log := s.log.With().Str("proto", "trunk").Str("remote", remote).Logger()
	link, err := s.authenticateTrunk(ctx, nc, tlsConf, log)
	if err != nil {
		return
	}
	p := &trunkPeer{srv: s, edgeID: link.PeerID, addr: remote, log: log, subs: map[uint32]*trunkSub{},
		pubs: trunkPubs{byKey: map[pubKey]*trunkPub{}, byChan: map[uint32]*trunkPub{}}}
	cfg := trunk.DefaultConfig()
	cfg.Log = log
	p.conn = trunk.NewConn(link, cfg, p.handle)
	p.mux = trunk.NewMux(p.conn)
	log.Info().Str("edge", p.edgeID).Msg("edge connected")
	s.edges.add(p)
	defer s.edges.remove(p)
	err = p.conn.Serve(ctx)
	p.mux.CloseAll(trunk.CodeShutdown, "trunk down")
	for ch := range p.subs { // the read goroutine has ended: the map is ours
		p.unsubscribe(ch)
	}
	log.Info().Str("edge", p.edgeID).AnErr("reason", err).Msg("edge disconnected")
}

// authenticateTrunk runs TLS (if configured) and the hello exchange under the gate: a refused
// or failed connection is reported to the gate, which logs it (rate-limited) and backs off
// addresses that keep failing authentication.
func (s *Server) authenticateTrunk(ctx context.Context, nc net.Conn, tlsConf *tls.Config, log zerolog.Logger) (*trunk.Link, error) {
	ip := hostOf(nc.RemoteAddr().String())
	if err := s.trunkGate.admit(ip, time.Now()); err != nil {
		log.Debug().Err(err).Msg("trunk connection refused")
		if tlsConf == nil { // a TLS edge could not read a plain frame: it sees the close
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = nc.Write(trunk.AppendFrame(nil, 0, trunk.ErrorMsg{Code: refusalCode(err), Message: err.Error()}))
		}
		return nil, err
	}
	judged := false
	link, err := s.trunkHandshake(ctx, nc, tlsConf, func(verdict error) {
		judged = true
		s.trunkGate.done(ip, verdict, log, time.Now())
	})
	if !judged { // the exchange failed before the hello was judged (timeout, not a trunk, TLS)
		s.trunkGate.done(ip, err, log, time.Now())
	}
	return link, err
}

func refusalCode(err error) uint16 {
	if errors.Is(err, errTrunkLocked) {
		return trunk.CodeAuth
	}
	return trunk.CodeOverflow
}

// trunkHandshake runs TLS (if configured) and the hello exchange; judged hears the verdict on
// the hello before the answer leaves.
func (s *Server) trunkHandshake(ctx context.Context, nc net.Conn, tlsConf *tls.Config, judged func(error)) (*trunk.Link, error) {
	if tlsConf != nil {
		tctx, cancel := context.WithTimeout(ctx, trunkHandshakeTimeout)
		defer cancel()
		tc, err := trunk.ServerTLS(tctx, nc, tlsConf, trunkTLSSniff)
		if err != nil {
			return nil, fmt.Errorf("trunk TLS handshake: %w", err)
		}
		nc = tc
	}
	// The origin's id stays empty: the hello is read by peers that have not proved anything yet,
	// and they learn nothing about this host from it (edges name an origin by its address).
	return trunk.ServerHandshake(nc, trunk.HandshakeConfig{Secret: s.trunkSecret, Timeout: trunkHandshakeTimeout, Judged: judged})
}

// trunkPeer is one connected edge. Its handler runs on the trunk's read goroutine and never
// blocks: session frames go to the Mux's per-session goroutines.
type trunkPeer struct {
	srv    *Server
	conn   *trunk.Conn
	mux    *trunk.Mux
	edgeID string
	addr   string
	log    zerolog.Logger
	subs   map[uint32]*trunkSub // channels this edge pulls; owned by the read goroutine
	pubs   trunkPubs            // publishes of this edge's clients
	plays  trunkPlays           // accepted plays of this edge's clients, which subscribes need
	// counters feed the per-edge metrics (trunk_edges.go).
	counters peerCounters
}

// handle routes one frame on the trunk's read goroutine. A panic while handling it ends only
// the frame's target (see recoverFrame), never the trunk or the process.
func (p *trunkPeer) handle(f trunk.Frame) error {
	defer p.recoverFrame(f)
	if h := p.srv.cfg.hooks; h != nil && h.trunkFrame != nil {
		h.trunkFrame(f.Kind)
	}
	return p.route(f)
}

func (p *trunkPeer) route(f trunk.Frame) error {
	if p.mux.Dispatch(f) {
		return nil
	}
	switch f.Kind {
	case trunk.KindSessionOpen:
		return p.open(f)
	case trunk.KindStreamSubscribe:
		return p.subscribe(f)
	case trunk.KindStreamUnsubscribe:
		if !p.unbindPublish(f.ID) {
			p.unsubscribe(f.ID)
		}
	case trunk.KindStreamPublish:
		return p.bindPublish(f)
	case trunk.KindStreamMedia, trunk.KindStreamGap:
		p.publishMedia(f)
	case trunk.KindSessionMessage, trunk.KindSessionVerdict:
		return p.conn.Send(f.ID, trunk.ErrorMsg{Code: trunk.CodeUnknownTarget, Message: "no such session"})
	}
	return nil // closes of sessions already gone, errors on gone targets, unsubscribes
}

// open registers the session before anything else can arrive for it, then hands it its own
// SessionOpen: the connect runs on the session's goroutine, ahead of what follows.
func (p *trunkPeer) open(f trunk.Frame) error {
	ts := newTrunkSession(p, f.ID)
	if err := p.mux.Open(f.ID, trunk.SessionFuncs{OnFrame: ts.onFrame, OnClose: ts.onClose}); err != nil {
		return p.conn.Send(f.ID, trunk.SessionClose{Code: trunk.CodeProtocol, Reason: err.Error()})
	}
	p.counters.sessions.Add(1)
	p.counters.sessionsTotal.Add(1)
	p.mux.Deliver(f.ID, f)
	return nil
}
