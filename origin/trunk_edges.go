package origin

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/admin"
)

// maxRetiredEdges bounds the counters kept for edges that disconnected (an origin without a
// secret accepts any edge id, and a stream of made-up ids must not grow memory forever).
const maxRetiredEdges = 1024

// trunkEdges is the origin's set of connected edges, for per-edge metrics. Its lock is taken
// when an edge connects or leaves and when metrics are read, never per message: the counters
// themselves are the peers' atomics and their trunk's.
type trunkEdges struct {
	mu      sync.Mutex
	peers   map[*trunkPeer]struct{}
	retired map[string]edgeStats // totals of edges' closed trunks, by edge id
}

// peerCounters are one trunk's figures, written by its goroutines with atomics.
type peerCounters struct {
	sessions      atomic.Int64  // open sessions
	sessionsTotal atomic.Uint64 // sessions opened on this trunk
	pulled        atomic.Int64  // streams this edge pulls
}

// edgeStats is one edge id's figures; an edge reconnecting (or two trunks with the same id) adds up.
type edgeStats struct {
	id                string
	trunks            int
	sessions, pulled  int64
	sessionsTotal     uint64
	bytesIn, bytesOut uint64
}

func (e *trunkEdges) add(p *trunkPeer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.peers == nil {
		e.peers = map[*trunkPeer]struct{}{}
	}
	e.peers[p] = struct{}{}
}

// remove keeps the trunk's totals under its edge id so that the counters never go backwards.
func (e *trunkEdges) remove(p *trunkPeer) {
	st := p.stats()
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.peers, p)
	if e.retired == nil {
		e.retired = map[string]edgeStats{}
	}
	r, ok := e.retired[p.edgeID]
	if !ok && len(e.retired) >= maxRetiredEdges {
		return
	}
	r.id = p.edgeID
	r.sessionsTotal += st.sessionsTotal
	r.bytesIn += st.bytesIn
	r.bytesOut += st.bytesOut
	e.retired[p.edgeID] = r
}

// stats reads one trunk's counters.
func (p *trunkPeer) stats() edgeStats {
	cs := p.conn.Stats()
	return edgeStats{id: p.edgeID, trunks: 1, sessions: p.counters.sessions.Load(), pulled: p.counters.pulled.Load(),
		sessionsTotal: p.counters.sessionsTotal.Load(), bytesIn: uint64(cs.BytesIn), bytesOut: uint64(cs.BytesOut)}
}

// snapshot sums the figures per edge id, sorted by id.
func (e *trunkEdges) snapshot() []edgeStats {
	e.mu.Lock()
	byID := make(map[string]edgeStats, len(e.retired)+len(e.peers))
	for id, r := range e.retired {
		byID[id] = r
	}
	peers := make([]*trunkPeer, 0, len(e.peers))
	for p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()
	for _, p := range peers {
		st, sum := p.stats(), byID[p.edgeID]
		sum.id = p.edgeID
		sum.trunks += st.trunks
		sum.sessions += st.sessions
		sum.pulled += st.pulled
		sum.sessionsTotal += st.sessionsTotal
		sum.bytesIn += st.bytesIn
		sum.bytesOut += st.bytesOut
		byID[p.edgeID] = sum
	}
	out := make([]edgeStats, 0, len(byID))
	for _, s := range byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// edgeMetrics is the per-edge family of the origin's metrics, labelled edge="ID" (the id the edge
// announced in its hello, which is also the app's client.edge.id).
func edgeMetrics(list []edgeStats) []admin.Metric {
	fam := func(name, help string, kind admin.Kind, v func(edgeStats) float64) admin.Metric {
		m := admin.Metric{Name: name, Help: help, Kind: kind}
		for _, e := range list {
			m.Samples = append(m.Samples, admin.Sample{Labels: map[string]string{"edge": e.id}, Value: v(e)})
		}
		return m
	}
	return []admin.Metric{
		fam("fmsgo_edge_trunks", "Trunk connections from the edge (normally 1).", admin.Gauge, func(e edgeStats) float64 { return float64(e.trunks) }),
		fam("fmsgo_edge_sessions", "Clients the edge carries to this origin.", admin.Gauge, func(e edgeStats) float64 { return float64(e.sessions) }),
		fam("fmsgo_edge_sessions_total", "Client sessions the edge opened on this origin.", admin.Counter, func(e edgeStats) float64 { return float64(e.sessionsTotal) }),
		fam("fmsgo_edge_pulled_streams", "Live streams the edge pulls from this origin.", admin.Gauge, func(e edgeStats) float64 { return float64(e.pulled) }),
		fam("fmsgo_edge_bytes_in", "Bytes received from the edge's trunks.", admin.Counter, func(e edgeStats) float64 { return float64(e.bytesIn) }),
		fam("fmsgo_edge_bytes_out", "Bytes sent on the edge's trunks.", admin.Counter, func(e edgeStats) float64 { return float64(e.bytesOut) }),
	}
}
