package edge

import (
	"testing"

	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

func BenchmarkPickOrigin(b *testing.B) {
	origins := []string{"10.0.0.1:19350", "10.0.0.2:19350", "10.0.0.3:19350", "10.0.0.4:19350"}
	b.ReportAllocs()
	for b.Loop() {
		_ = pickOrigin(origins, "chat/room42")
	}
}

// BenchmarkPulledMedia is the edge's per-message cost of a pulled stream: decode the trunk frame
// and write it into the local hub (no viewers attached, so only the ingest side is measured).
func BenchmarkPulledMedia(b *testing.B) {
	hub := live.NewHub(live.Config{}, zerolog.Nop())
	defer hub.Close()
	p := &pulled{ch: 7, hub: hub}
	pub, err := hub.Publish("cam", p)
	if err != nil {
		b.Fatal(err)
	}
	p.pub = pub
	st := &trunkState{streams: newStreams()}
	st.streams.byChan[7] = p
	frame := trunk.AppendMediaFrame(nil, 7, trunk.StreamMedia{Type: 9, Timestamp: 40, Payload: make([]byte, 4096)})
	f := trunk.Frame{Kind: trunk.KindStreamMedia, ID: 7, Body: frame[trunk.HeaderSize:]}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		st.onStreamFrame(f)
	}
}

// BenchmarkRankOrigins is the extra cost of a connect routed with -failover while its origin is down.
func BenchmarkRankOrigins(b *testing.B) {
	origins := []string{"10.0.0.1:19350", "10.0.0.2:19350", "10.0.0.3:19350", "10.0.0.4:19350"}
	b.ReportAllocs()
	for b.Loop() {
		_ = rankOrigins(origins, "chat/room42")
	}
}

// BenchmarkEdgeMetrics is one /metrics snapshot of an edge with four origins (none up).
func BenchmarkEdgeMetrics(b *testing.B) {
	s, err := New(Config{Origins: []string{"a:1", "b:1", "c:1", "d:1"}}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Metrics()
	}
}
