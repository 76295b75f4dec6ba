package netserver

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
)

// Limits bound who may hold and open connections on a listener. Zero fields are off; a server
// fills them from its configuration (origin and edge default to DefaultLimits).
type Limits struct {
	MaxConns      int     // connections served at once, over all addresses
	MaxPerAddress int     // connections served at once from one address (IPv6: one /64)
	AcceptRate    float64 // new connections per second from one address, on average...
	AcceptBurst   int     // ...with this many at once (token bucket; AcceptRate 0: no rate limit)
}

// DefaultLimits are on unless configured otherwise: a client from one address gets 100
// connections (a household or an office behind one NAT) and may open 20 a second after a burst
// of 100 (all of them reconnecting at once after a restart), and the process serves 10,000
// (its RTMP, trunk and HTTP sockets share the descriptor limit).
func DefaultLimits() Limits {
	return Limits{MaxConns: 10000, MaxPerAddress: 100, AcceptRate: 20, AcceptBurst: 100}
}

// OrDefaults reads l as a configuration file does: a zero field takes its value from
// DefaultLimits, a negative one turns that limit off (AcceptBurst follows AcceptRate).
func (l Limits) OrDefaults() Limits {
	d := DefaultLimits()
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	l.MaxConns = pick(l.MaxConns, d.MaxConns)
	l.MaxPerAddress = pick(l.MaxPerAddress, d.MaxPerAddress)
	switch {
	case l.AcceptRate == 0:
		l.AcceptRate = d.AcceptRate
	case l.AcceptRate < 0:
		l.AcceptRate, l.AcceptBurst = 0, 0
	}
	if l.AcceptRate > 0 && l.AcceptBurst <= 0 {
		l.AcceptBurst = max(d.AcceptBurst, int(l.AcceptRate))
	}
	return l
}

// Refusal reasons, as /metrics labels them.
const (
	ReasonGlobal     = "global"      // MaxConns reached
	ReasonPerAddress = "per_address" // MaxPerAddress reached for the peer's address
	ReasonRate       = "rate"        // the peer's address opens connections too fast
)

// Refusals counts the connections a listener closed at accept, by reason.
type Refusals struct{ Global, PerAddress, Rate uint64 }

// addrState is what the listener remembers about one peer address (guarded by Server.mu).
type addrState struct {
	open   int       // connections being served
	tokens float64   // accept tokens left (AcceptBurst at most)
	at     time.Time // when tokens was last brought up to date
}

// minTracked is the least number of addresses remembered before idle ones are forgotten.
const minTracked = 4096

// addrKey is the per-address key of a peer: its IP, or the /64 of an IPv6 peer (one subscriber
// commonly holds a whole /64).
func addrKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// admit decides on a new connection from key and, if it is admitted, counts it (s.mu held). It
// returns the refusal reason, or "".
func (s *Server) admit(key netip.Addr, now time.Time) string {
	l := &s.lim
	if l.MaxConns > 0 && len(s.conns) >= l.MaxConns {
		return ReasonGlobal
	}
	if l.MaxPerAddress <= 0 && l.AcceptRate <= 0 {
		return ""
	}
	st := s.addrs[key]
	if st == nil {
		s.forgetIdle(now)
		st = &addrState{tokens: float64(l.AcceptBurst), at: now}
		s.addrs[key] = st
	}
	if l.MaxPerAddress > 0 && st.open >= l.MaxPerAddress {
		return ReasonPerAddress
	}
	if l.AcceptRate > 0 {
		st.refill(l, now)
		if st.tokens < 1 {
			return ReasonRate
		}
		st.tokens--
	}
	st.open++
	return ""
}

// refill brings the address's accept tokens up to date.
func (st *addrState) refill(l *Limits, now time.Time) {
	st.tokens = min(float64(l.AcceptBurst), st.tokens+now.Sub(st.at).Seconds()*l.AcceptRate)
	st.at = now
}

// release uncounts a connection from key that ended (s.mu held).
func (s *Server) release(key netip.Addr) {
	if st := s.addrs[key]; st != nil && st.open > 0 {
		st.open--
	}
}

// forgetIdle bounds what the listener remembers: once it knows of more addresses than twice the
// connections it may serve (at least minTracked), it forgets those with nothing open, first the
// ones whose tokens are full again (forgetting them changes nothing). Addresses with connections
// open are at most MaxConns, so a flood from many addresses cannot grow the table past the
// bound, and each sweep is paid for by as many new addresses as it removed.
func (s *Server) forgetIdle(now time.Time) {
	limit := max(minTracked, 2*s.lim.MaxConns)
	if len(s.addrs) < limit {
		return
	}
	for k, st := range s.addrs {
		if st.open == 0 {
			if st.refill(&s.lim, now); st.tokens >= float64(s.lim.AcceptBurst) {
				delete(s.addrs, k)
			}
		}
	}
	if len(s.addrs) < limit*3/4 {
		return
	}
	for k, st := range s.addrs {
		if st.open == 0 {
			delete(s.addrs, k)
		}
	}
}

// refusedLogEvery spaces the log lines about refused connections: the first refusal is logged at
// once, the rest as counts at most this often.
const refusedLogEvery = 10 * time.Second

// refuse counts a connection refused at accept, has the Refuser answer it when there is room
// (answer) or else closes it at once, and logs a summary now and then (on the accept
// goroutine). The close resets the connection (no TIME_WAIT is kept for a flood).
func (s *Server) refuse(ctx context.Context, c net.Conn, key netip.Addr, reason string, now time.Time) {
	switch reason {
	case ReasonGlobal:
		s.refused.global.Add(1)
	case ReasonPerAddress:
		s.refused.perAddress.Add(1)
	case ReasonRate:
		s.refused.rate.Add(1)
	}
	remote := c.RemoteAddr()
	if !s.answer(ctx, c, key, reason) {
		select {
		case s.reap <- c: // reset by the reaper: the accept loop goes back to accepting at once
		default:
			reset(c)
		}
	}
	s.quietRefusals++
	if now.Sub(s.refusedLogAt) < refusedLogEvery {
		return
	}
	r := s.Refused()
	s.log.Warn().Str("last_reason", reason).Str("last_remote", remote.String()).
		Int("refused_since_last_line", s.quietRefusals).Uint64("global_total", r.Global).
		Uint64("per_address_total", r.PerAddress).Uint64("rate_total", r.Rate).
		Msg("connections refused at accept (connection limits)")
	s.refusedLogAt, s.quietRefusals = now, 0
}

// reapQueue bounds the refused connections waiting for the reaper; past it the accept loop
// resets them itself.
const reapQueue = 1024

// reapRefused resets the refused connections the accept loop hands over, until reap is closed.
// Closing a socket with a reset is the costliest step of a refusal (on loopback the kernel
// delivers the reset inside close), so it runs beside the accept loop, on another core.
func reapRefused(reap <-chan net.Conn) {
	for c := range reap {
		reset(c)
	}
}

// reset closes c with a TCP reset: no TIME_WAIT is kept for a flood.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// Refused returns how many connections were closed at accept, by reason.
func (s *Server) Refused() Refusals {
	return Refusals{Global: s.refused.global.Load(), PerAddress: s.refused.perAddress.Load(), Rate: s.refused.rate.Load()}
}

// RefusedMetric is the listener's refusals at accept as fmsgo_connections_refused_total (no
// samples for a nil server: a listener not started).
func (s *Server) RefusedMetric(listener string) admin.Metric {
	if s == nil {
		return admin.ConnectionsRefused()
	}
	r := s.Refused()
	return admin.ConnectionsRefused(admin.Refusals{Listener: listener, Global: r.Global, PerAddress: r.PerAddress, Rate: r.Rate})
}
