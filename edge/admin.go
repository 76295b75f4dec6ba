package edge

import (
	"github.com/fmsgo/fmsgo/core/admin"
)

// originStats is one origin's figures as this edge sees them.
type originStats struct {
	addr                       string
	up                         bool
	sessions, pulled, players  int
	bytesIn, bytesOut, failure uint64
	rttSeconds                 float64
}

// originSnapshot reads each link's current trunk; the figures come from the trunk's own atomics
// and the pulled-streams lock, never from the media path.
func (s *Server) originSnapshot() []originStats {
	out := make([]originStats, 0, len(s.links))
	for _, l := range s.links {
		o := originStats{addr: l.addr, failure: l.failures.Load()}
		if st, _ := l.current(); st != nil {
			cs := st.conn.Stats()
			o.up, o.sessions = true, st.mux.Len()
			o.pulled, o.players = st.streams.counts()
			o.bytesIn, o.bytesOut, o.rttSeconds = uint64(cs.BytesIn), uint64(cs.BytesOut), cs.RTT.Seconds()
		}
		out = append(out, o)
	}
	return out
}

// Metrics is the edge's figures for `-http`'s /metrics and /api/stats: clients, and per origin
// the trunk's state, the sessions and pulled streams it carries, local players, traffic.
func (s *Server) Metrics() []admin.Metric {
	s.mu.Lock()
	rtmp := s.rtmp
	s.mu.Unlock()
	conns := admin.Metric{Name: "fmsgo_connections", Help: "Open client connections per listener.", Kind: admin.Gauge}
	if rtmp != nil {
		conns.Samples = []admin.Sample{{Labels: map[string]string{"listener": "rtmp"}, Value: float64(rtmp.Count())}}
	}
	webMs := s.webMetrics(&conns)
	list := s.originSnapshot()
	fam := func(name, help string, kind admin.Kind, v func(originStats) float64) admin.Metric {
		m := admin.Metric{Name: name, Help: help, Kind: kind}
		for _, o := range list {
			m.Samples = append(m.Samples, admin.Sample{Labels: map[string]string{"origin": o.addr}, Value: v(o)})
		}
		return m
	}
	ms := []admin.Metric{conns,
		fam("fmsgo_edge_trunk_up", "1 while the trunk to the origin is established.", admin.Gauge, func(o originStats) float64 { return b2f(o.up) }),
		fam("fmsgo_edge_trunk_failures", "Failed dials and lost trunks to the origin.", admin.Counter, func(o originStats) float64 { return float64(o.failure) }),
		fam("fmsgo_edge_sessions", "Client sessions carried to the origin.", admin.Gauge, func(o originStats) float64 { return float64(o.sessions) }),
		fam("fmsgo_edge_pulled_streams", "Live streams pulled from the origin (once each, whatever the players).", admin.Gauge, func(o originStats) float64 { return float64(o.pulled) }),
		fam("fmsgo_edge_local_players", "Players of pulled streams on this edge.", admin.Gauge, func(o originStats) float64 { return float64(o.players) }),
		fam("fmsgo_edge_trunk_bytes_in", "Bytes received on the current trunk.", admin.Counter, func(o originStats) float64 { return float64(o.bytesIn) }),
		fam("fmsgo_edge_trunk_bytes_out", "Bytes sent on the current trunk.", admin.Counter, func(o originStats) float64 { return float64(o.bytesOut) }),
		fam("fmsgo_edge_trunk_rtt_seconds", "Trunk round-trip time from its heartbeats.", admin.Gauge, func(o originStats) float64 { return o.rttSeconds }),
	}
	b := s.cfg.Limits.Conn.InboundBudget
	ms = append(ms, admin.InboundBudgetMetrics(b.Held(), b.Limit(), b.Evictions())...)
	ms = append(ms, admin.RTMPWriteMetrics(s.cfg.Limits.Conn.Runtime.Totals())...)
	ms = append(ms, rtmp.RefusedMetric("rtmp"))
	ms = append(ms, webMs...)
	return append(ms, admin.ProcessMetrics()...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
