package origin

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/rs/zerolog"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestAdminHTTP: -http serves a health check and the origin's figures, which follow what the
// clients do (a publisher and two players on live/_definst_).
func TestAdminHTTP(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.HTTP = "127.0.0.1:0" })
	base := "http://" + o.srv.HTTPAddr().String()
	if got := httpGet(t, base+"/healthz"); got != "ok\n" {
		t.Fatalf("healthz: %q", got)
	}
	startPublisher(t, o, "live", "cam")
	for i := 0; i < 2; i++ {
		p := dial(t, o.url("live"), rtmpclient.Options{})
		sid, err := p.CreateStream(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		p.Play(sid, "cam", -1)
	}
	waitFor(t, 5*time.Second, "two players", func() bool { return o.srv.subscriberCount("live", "cam") == 2 })
	m := httpGet(t, base+"/metrics")
	for _, want := range []string{
		`fmsgo_connections{listener="rtmp"} 3`,
		`fmsgo_instance_publishers{instance="live/_definst_"} 1`,
		`fmsgo_instance_players{instance="live/_definst_"} 2`,
		"# TYPE fmsgo_process_resident_bytes gauge",
	} {
		if !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, m)
		}
	}
	if s := httpGet(t, base+"/api/stats"); !strings.Contains(s, `"server": "origin"`) || !strings.Contains(s, "fmsgo_instance_streams") {
		t.Fatalf("/api/stats: %s", s)
	}
}

// TestMediaFlushConfig: the TOML limits reach every connection's configuration.
func TestMediaFlushConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "origin.toml")
	if err := os.WriteFile(path, []byte("[limits]\nmedia_flush_interval = \"20ms\"\nmax_media_flush_interval = \"500ms\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := config.Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Apps = t.TempDir()
	srv, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if c := srv.cfg.Limits.Conn; c.MediaFlushInterval != 20*time.Millisecond || c.MaxMediaFlushInterval != 500*time.Millisecond {
		t.Fatalf("connection config %v / %v", c.MediaFlushInterval, c.MaxMediaFlushInterval)
	}
}
