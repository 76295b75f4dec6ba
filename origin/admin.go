package origin

import (
	"sort"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/scripting"
)

// instanceStats is one app instance's live streams, for the admin endpoints.
type instanceStats struct {
	name    string
	streams int
	publish int
	subs    int
	bytesIn uint64
	drops   uint64
}

// instanceSnapshot lists every running instance's stream figures, sorted by name.
func instanceSnapshot(hubs map[string]*live.Hub) []instanceStats {
	out := make([]instanceStats, 0, len(hubs))
	for name, hub := range hubs {
		st := instanceStats{name: name}
		for _, s := range hub.Streams() {
			st.streams++
			if s.Publishing {
				st.publish++
			}
			st.subs += s.Subscribers
			st.bytesIn += s.BytesIn
			st.drops += s.Drops
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Metrics is the origin's figures for `-http`'s /metrics and /api/stats: connections per
// listener, edges, and per app instance its streams, publishers, players, bytes in and drops.
func (s *Server) Metrics() []admin.Metric {
	s.mu.Lock()
	rtmp, tr := s.rtmp, s.trunk
	s.mu.Unlock()
	conns := admin.Metric{Name: "fmsgo_connections", Help: "Open connections per listener (trunk: edges).", Kind: admin.Gauge}
	if rtmp != nil {
		conns.Samples = append(conns.Samples, admin.Sample{Labels: map[string]string{"listener": "rtmp"}, Value: float64(rtmp.Count())})
	}
	if tr != nil {
		conns.Samples = append(conns.Samples, admin.Sample{Labels: map[string]string{"listener": "trunk"}, Value: float64(tr.Count())})
	}
	webMs := s.webMetrics(&conns)
	ms := []admin.Metric{conns,
		{Name: "fmsgo_trunk_subscriptions", Help: "Live streams edges pull from this origin.", Kind: admin.Gauge,
			Samples: []admin.Sample{{Value: float64(s.TrunkSubscriptions())}}},
	}
	refused, authFailed := s.trunkGate.counts()
	ms = append(ms,
		admin.Metric{Name: "fmsgo_trunk_handshakes_refused_total", Kind: admin.Counter,
			Help:    "Trunk connections refused before authentication (too many handshakes at once, or an address locked out after wrong secrets).",
			Samples: []admin.Sample{{Value: float64(refused)}}},
		admin.Metric{Name: "fmsgo_trunk_auth_failures_total", Help: "Trunk handshakes that failed authentication (wrong or missing secret).",
			Kind: admin.Counter, Samples: []admin.Sample{{Value: float64(authFailed)}}})
	ms = append(ms, engineMetrics(s.engine.Stats())...)
	ms = append(ms, instanceMetrics(instanceSnapshot(s.engine.Hubs()))...)
	ms = append(ms, edgeMetrics(s.edges.snapshot())...)
	b := s.cfg.Limits.Conn.InboundBudget
	ms = append(ms, admin.InboundBudgetMetrics(b.Held(), b.Limit(), b.Evictions())...)
	ms = append(ms, admin.RTMPWriteMetrics(s.cfg.Limits.Conn.Runtime.Totals())...)
	ms = append(ms, rtmp.RefusedMetric("rtmp"))
	ms = append(ms, webMs...)
	return append(ms, admin.ProcessMetrics()...)
}

func instanceMetrics(list []instanceStats) []admin.Metric {
	fam := func(name, help string, kind admin.Kind, v func(instanceStats) float64) admin.Metric {
		m := admin.Metric{Name: name, Help: help, Kind: kind}
		for _, in := range list {
			m.Samples = append(m.Samples, admin.Sample{Labels: map[string]string{"instance": in.name}, Value: v(in)})
		}
		return m
	}
	return []admin.Metric{
		fam("fmsgo_instance_streams", "Live streams of an app instance.", admin.Gauge, func(i instanceStats) float64 { return float64(i.streams) }),
		fam("fmsgo_instance_publishers", "Streams being published.", admin.Gauge, func(i instanceStats) float64 { return float64(i.publish) }),
		fam("fmsgo_instance_players", "Players (and edge pulls) of the instance's streams.", admin.Gauge, func(i instanceStats) float64 { return float64(i.subs) }),
		fam("fmsgo_instance_media_bytes_in", "Media bytes received by the instance's live streams.", admin.Counter, func(i instanceStats) float64 { return float64(i.bytesIn) }),
		fam("fmsgo_instance_media_drops", "Media messages not delivered to slow players.", admin.Counter, func(i instanceStats) float64 { return float64(i.drops) }),
	}
}

// engineMetrics is the app engine's instance figures.
func engineMetrics(st scripting.EngineStats) []admin.Metric {
	return []admin.Metric{
		{Name: "fmsgo_app_instances", Help: "Application instances loaded (each a JS runtime).", Kind: admin.Gauge,
			Samples: []admin.Sample{{Value: float64(st.Instances)}}},
		{Name: "fmsgo_app_instances_idle", Help: "Loaded instances with no client left (unloaded after idleUnloadSeconds, or earlier at a cap).",
			Kind: admin.Gauge, Samples: []admin.Sample{{Value: float64(st.Idle)}}},
		{Name: "fmsgo_app_instances_evicted_total", Help: "Idle instances unloaded early to make room at an instance cap.",
			Kind: admin.Counter, Samples: []admin.Sample{{Value: float64(st.Evicted)}}},
		{Name: "fmsgo_app_instances_refused_total", Kind: admin.Counter,
			Help:    "Connects refused because they would start an instance past a cap, the app's instancePattern or the per-address creation rate.",
			Samples: []admin.Sample{{Value: float64(st.Refused)}}},
		{Name: "fmsgo_app_instances_contained_total", Help: "Instances unloaded for passing their memory or CPU bound.", Kind: admin.Counter,
			Samples: []admin.Sample{{Labels: map[string]string{"reason": "memory"}, Value: float64(st.UnloadedMemory)},
				{Labels: map[string]string{"reason": "cpu"}, Value: float64(st.UnloadedCPU)}}},
	}
}
