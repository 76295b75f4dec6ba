package origin

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/trunk/trunktest"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/fmsgo/fmsgo/core/wsmsg/wsmsgtest"
	"github.com/rs/zerolog"
)

const protocolApp = `Client.prototype.proto = function () { return this.protocol; };`

// TestWebTLS: with a TLS config the web listener serves wss://, and the app sees protocol wss.
func TestWebTLS(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	o := startWebOrigin(t, func(c *Config) { c.WebTLS = &tls.Config{Certificates: []tls.Certificate{pair}} }, "p")
	o.writeApp(t, "p", protocolApp)
	addr := o.srv.WebAddr().String()
	clientTLS, err := trunk.ClientTLSConfig(files.CA, addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctx5(t)
	c, _, err := websocket.Dial(ctx, "wss://"+addr+"/fms/p", &websocket.DialOptions{Subprotocols: []string{wsmsg.Subprotocol},
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}})
	if err != nil {
		t.Fatal(err)
	}
	p := wsmsgtest.Wrap(t, c)
	p.Send(wsmsg.Message{Type: wsmsg.TypeConnect})
	if m := p.Next(ctx); m.Type != wsmsg.TypeConnected {
		t.Fatalf("connect: %s", show(m))
	}
	if m := p.Call(ctx, 1, "proto"); m.Value != "wss" {
		t.Fatalf("protocol: %s", show(m))
	}
	if _, _, err := websocket.Dial(ctx, "ws://"+addr+"/fms/p", nil); err == nil {
		t.Fatal("plain ws:// served on a TLS listener")
	}
}

// TestWebOrigins: a page of the server's own host and of a listed pattern may connect, a
// foreign page gets 403, a client without Origin is let in; the subprotocol is required.
func TestWebOrigins(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, func(c *Config) { c.WebOrigins = []string{"*.example.com"} }, "live")
	ctx := ctx5(t)
	addr := o.srv.WebAddr().String()
	for origin, ok := range map[string]bool{
		"http://" + addr: true, "https://app.example.com": true, "": true,
		"https://evil.example.org": false, "https://example.com.evil.org": false,
	} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, resp, err := websocket.Dial(ctx, o.wsURL("live"), &websocket.DialOptions{Subprotocols: []string{wsmsg.Subprotocol}, HTTPHeader: h})
		if ok != (err == nil) {
			t.Errorf("Origin %q: %v, want allowed=%v", origin, err, ok)
		}
		if !ok && resp != nil && resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: status %d, want 403", origin, resp.StatusCode)
		}
		if c != nil {
			_ = c.CloseNow()
		}
	}
	c, _, err := websocket.Dial(ctx, o.wsURL("live"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("without the subprotocol: %v, want 1008", err)
	}
}

// TestWebConnectionLimits: the web listener's connections count against the per-address limit
// (a refused one gets 503 and why) and show in /metrics.
func TestWebConnectionLimits(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, func(c *Config) { c.Limits.MaxConnectionsPerAddress = 1 }, "live")
	connectWS(t, o, "live")
	resp, err := http.Get("http://" + o.srv.WebAddr().String() + "/fms/live")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "too many connections from your address") {
		t.Fatalf("second connection: %d %q", resp.StatusCode, body)
	}
	var conns, refused float64
	for _, m := range o.srv.Metrics() {
		for _, s := range m.Samples {
			if m.Name == "fmsgo_connections" && s.Labels["listener"] == "web" {
				conns = s.Value
			}
			if m.Name == "fmsgo_connections_refused_total" && s.Labels["listener"] == "web" {
				refused += s.Value
			}
		}
	}
	if conns != 1 || refused != 1 {
		t.Fatalf("metrics: web connections %v, refused %v", conns, refused)
	}
}

// TestWebShutdown: at shutdown a browser is told NetConnection.Connect.AppShutdown, then closed.
func TestWebShutdown(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP, cfg.Web = "", "", "", "127.0.0.1:0"
	cfg.Apps, cfg.Data = t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg.Apps, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	o := &testOrigin{srv: srv}
	p := connectWS(t, o, "live")
	cancel()
	done := make(chan struct{})
	go func() { srv.Shutdown(); close(done) }()
	if m := p.Await(ctx5(t), "status", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeStatus }); infoString(m.Info, "code") != "NetConnection.Connect.AppShutdown" {
		t.Fatalf("at shutdown: %s", show(m))
	}
	if err := p.Closed(ctx5(t)); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

// TestWebConfigKeys: the web keys read from a config file.
func TestWebConfigKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "origin.toml")
	toml := "web = \":8080\"\nweb_origins = [\"app.example.com\"]\n[limits]\nweb_max_message_bytes = 1024\nweb_message_rate = -1\n" +
		"web_message_burst = 5\nweb_queue_bytes = 2048\nweb_connect_timeout = \"1s\"\nweb_idle_timeout = \"30s\"\nweb_write_timeout = \"2s\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := config.Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits.Limits
	if cfg.Web != ":8080" || len(cfg.WebOrigins) != 1 || l.WebMaxMessageBytes != 1024 || l.WebMessageRate != -1 || l.WebMessageBurst != 5 ||
		l.WebQueueBytes != 2048 || l.WebConnectTimeout != time.Second || l.WebIdleTimeout != 30*time.Second || l.WebWriteTimeout != 2*time.Second {
		t.Fatalf("config: %+v %+v", cfg.Web, l)
	}
}
