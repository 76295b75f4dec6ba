package edge

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// metricValue reads one series' value from a scrape (-1 when absent).
func metricValue(text, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// waitMetric scrapes until series has the wanted value.
func waitMetric(t *testing.T, addr, series string, want float64) {
	t.Helper()
	var last string
	waitFor(t, fmt.Sprintf("%s = %v", series, want), func() bool {
		last = scrape(t, addr)
		return metricValue(last, series) == want
	})
}

// TestEdgeHTTP: -http serves the edge's health check and figures: clients, the trunk per origin
// with its state, sessions, pulled streams and local players, and the process metrics.
func TestEdgeHTTP(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdgeWith(t, func(c *Config) { c.HTTP = "127.0.0.1:0" }, o)
	addr := e.srv.HTTPAddr().String()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	startLivePublisher(t, o)
	startEdgePlayer(t, e)
	startEdgePlayer(t, e)
	dial(t, e.url("live"), rtmpclient.Options{})
	trunk := o.srv.TrunkAddr().String()
	lbl := `{origin="` + trunk + `"}`
	waitMetric(t, addr, "fmsgo_edge_local_players"+lbl, 2)
	m := scrape(t, addr)
	for series, want := range map[string]float64{
		`fmsgo_connections{listener="rtmp"}`: 3,
		"fmsgo_edge_trunk_up" + lbl:          1,
		"fmsgo_edge_sessions" + lbl:          3,
		"fmsgo_edge_pulled_streams" + lbl:    1,
	} {
		if got := metricValue(m, series); got != want {
			t.Fatalf("%s = %v, want %v:\n%s", series, got, want, m)
		}
	}
	if metricValue(m, "fmsgo_edge_trunk_bytes_in"+lbl) <= 0 || !strings.Contains(m, "# TYPE fmsgo_process_resident_bytes gauge") {
		t.Fatalf("traffic or process metrics missing:\n%s", m)
	}
	o.stop()
	waitMetric(t, addr, "fmsgo_edge_trunk_up"+lbl, 0)
	if metricValue(scrape(t, addr), "fmsgo_edge_trunk_failures"+lbl) < 1 {
		t.Fatal("the lost trunk is not counted")
	}
}

// TestOriginPerEdgeMetrics: the origin's /metrics shows, per edge id, its sessions, the streams
// it pulls and the trunk's traffic; sessions go back down when the edge's clients leave, the
// session total does not.
func TestOriginPerEdgeMetrics(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) { c.HTTP = "127.0.0.1:0" })
	e := startEdge(t, "", o)
	addr := o.srv.HTTPAddr().String()
	startLivePublisher(t, o)
	p1, p2 := startEdgePlayer(t, e), startEdgePlayer(t, e)
	const lbl = `{edge="edge-test"}`
	waitMetric(t, addr, "fmsgo_edge_pulled_streams"+lbl, 1)
	m := scrape(t, addr)
	for series, want := range map[string]float64{
		"fmsgo_edge_trunks" + lbl:         1,
		"fmsgo_edge_sessions" + lbl:       2,
		"fmsgo_edge_sessions_total" + lbl: 2,
	} {
		if got := metricValue(m, series); got != want {
			t.Fatalf("%s = %v, want %v:\n%s", series, got, want, m)
		}
	}
	if metricValue(m, "fmsgo_edge_bytes_in"+lbl) <= 0 || metricValue(m, "fmsgo_edge_bytes_out"+lbl) <= 0 {
		t.Fatalf("no per-edge traffic:\n%s", m)
	}
	p1.Close()
	p2.Close()
	waitMetric(t, addr, "fmsgo_edge_sessions"+lbl, 0)
	waitMetric(t, addr, "fmsgo_edge_pulled_streams"+lbl, 0)
	// The edge goes away: its counters stay (counters never go backwards), its gauges drop.
	e.srv.Shutdown()
	waitMetric(t, addr, "fmsgo_edge_trunks"+lbl, 0)
	if got := metricValue(scrape(t, addr), "fmsgo_edge_sessions_total"+lbl); got != 2 {
		t.Fatalf("sessions total after the edge left: %v", got)
	}
}
