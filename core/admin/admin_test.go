package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func sampleMetrics() []Metric {
	return []Metric{
		{Name: "fmsgo_connections", Help: "Connected clients.", Kind: Gauge, Samples: []Sample{
			{Labels: map[string]string{"listener": "trunk"}, Value: 2},
			{Labels: map[string]string{"listener": "rtmp"}, Value: 7},
		}},
		{Name: "fmsgo_edge_sessions", Help: "Sessions per edge,\nby id.", Kind: Gauge, Samples: []Sample{
			{Labels: map[string]string{"edge": `a"b\c`}, Value: 3},
		}},
		{Name: "fmsgo_connects_total", Help: "Connects since start.", Kind: Counter, Samples: []Sample{{Value: 1e6}}},
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	WriteText(&b, sampleMetrics())
	want := `# HELP fmsgo_connections Connected clients.
# TYPE fmsgo_connections gauge
fmsgo_connections{listener="rtmp"} 7
fmsgo_connections{listener="trunk"} 2
# HELP fmsgo_edge_sessions Sessions per edge,\nby id.
# TYPE fmsgo_edge_sessions gauge
fmsgo_edge_sessions{edge="a\"b\\c"} 3
# HELP fmsgo_connects_total Connects since start.
# TYPE fmsgo_connects_total counter
fmsgo_connects_total 1e+06
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	s, err := Listen("127.0.0.1:0", Handler("origin test", sampleMetrics), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr().String()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, ct, body := get("/metrics"); code != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") || !strings.Contains(body, `fmsgo_connections{listener="rtmp"} 7`) {
		t.Fatalf("metrics: %d %s %q", code, ct, body)
	}
	code, _, body := get("/api/stats")
	var got struct {
		Server  string
		Metrics []Metric
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Server != "origin test" || len(got.Metrics) != 3 || got.Metrics[0].Samples[1].Value != 7 {
		t.Fatalf("stats: %d %v %+v", code, err, got)
	}
	if code, _, _ := get("/nope"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
	resp, err := http.Post(base+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /metrics: %d", resp.StatusCode)
	}
}

func TestListenBadAddress(t *testing.T) {
	t.Parallel()
	if _, err := Listen("256.0.0.1:1", Handler("x", sampleMetrics), zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "admin: listen") {
		t.Fatalf("want a listen error, got %v", err)
	}
}

func TestProcessMetrics(t *testing.T) {
	t.Parallel()
	got := map[string]float64{}
	for _, m := range ProcessMetrics() {
		got[m.Name] = m.Samples[0].Value
	}
	if got["fmsgo_process_resident_bytes"] < 1<<20 || got["fmsgo_go_goroutines"] < 1 || got["fmsgo_go_memory_bytes"] < 1<<20 {
		t.Fatalf("implausible process metrics: %v", got)
	}
}
