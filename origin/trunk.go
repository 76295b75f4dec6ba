package origin

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

// startTrunk binds the edges' listener. Without a secret any edge may connect, which is only
// safe on loopback: say so loudly otherwise.
func (s *Server) startTrunk(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Trunk)
	if err != nil {
		return fmt.Errorf("origin: trunk listener: %w", err)
	}
	log := s.log.With().Str("proto", "trunk").Logger()
	var tlsConf *tls.Config
	if s.cfg.TrunkCert != "" || s.cfg.TrunkKey != "" {
		if tlsConf, err = trunk.ServerTLSConfig(s.cfg.TrunkCert, s.cfg.TrunkKey); err != nil {
			ln.Close()
			return fmt.Errorf("origin: %w", err)
		}
	}
	tr := netserver.New(ln, 0, func(ctx context.Context, nc net.Conn) { s.serveTrunk(ctx, nc, tlsConf) }, log)
	s.trunk = tr
	log.Info().Str("addr", ln.Addr().String()).Bool("tls", tlsConf != nil).Msg("listening")
	if s.cfg.TrunkSecret == "" && !isLoopback(ln.Addr()) {
		log.Warn().Str("addr", ln.Addr().String()).Msg("trunk listens beyond loopback without -trunk-secret: any edge may connect")
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

// originID names this origin in the trunk hello (edges log it).
func originID(addr net.Addr) string {
	host, _ := os.Hostname()
	return host + ":" + portOf(addr)
}

func portOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(ta.Port)
	}
	return a.String()
}

// serveTrunk authenticates one edge and serves its sessions until the trunk ends; then every
// session it carried is disconnected from its app.
func (s *Server) serveTrunk(ctx context.Context, nc net.Conn, tlsConf *tls.Config) {
	log := s.log.With().Str("proto", "trunk").Str("remote", nc.RemoteAddr().String()).Logger()
	local := nc.LocalAddr()
	if tlsConf != nil {
		tc, err := trunk.ServerTLS(ctx, nc, tlsConf, trunkTLSSniff)
		if err != nil {
			log.Warn().Err(err).Msg("trunk TLS handshake failed")
			return
		}
		nc = tc
	}
	link, err := trunk.ServerHandshake(nc, trunk.HandshakeConfig{ID: originID(local), Secret: []byte(s.cfg.TrunkSecret)})
	if err != nil {
		log.Warn().Err(err).Msg("trunk handshake failed")
		return
	}
	p := &trunkPeer{srv: s, edgeID: link.PeerID, addr: nc.RemoteAddr().String(), log: log, subs: map[uint32]*trunkSub{},
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
	// counters feed the per-edge metrics (trunk_edges.go).
	counters peerCounters
}

func (p *trunkPeer) handle(f trunk.Frame) error {
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
	case trunk.KindStreamMedia:
		p.publishMedia(f)
	case trunk.KindSessionMessage, trunk.KindSessionVerdict:
		return p.conn.Send(f.ID, trunk.ErrorMsg{Code: trunk.CodeUnknownTarget, Message: "no such session"})
	}
	return nil // closes of sessions already gone, errors on gone targets, unsubscribes
}

// open registers the session before anything else can arrive for it, then connects it to its
// app on the session's own goroutine.
func (p *trunkPeer) open(f trunk.Frame) error {
	m, err := trunk.DecodeSessionOpen(f.Body)
	if err != nil {
		return fmt.Errorf("origin: session %d: %w", f.ID, err)
	}
	m.Command = append([]byte(nil), m.Command...)
	m.Args = append([]byte(nil), m.Args...)
	ts := newTrunkSession(p, f.ID, m)
	if err := p.mux.Open(f.ID, trunk.SessionFuncs{OnFrame: ts.onFrame, OnClose: ts.onClose}); err != nil {
		return p.conn.Send(f.ID, trunk.SessionClose{Code: trunk.CodeProtocol, Reason: err.Error()})
	}
	p.counters.sessions.Add(1)
	p.counters.sessionsTotal.Add(1)
	go ts.connect()
	return nil
}
