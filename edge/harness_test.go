package edge

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
	"github.com/rs/zerolog"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testSecret is a trunk secret of the minimum length or more (trunk.MinSecretLen).
const testSecret = "edge-test-secret-0123"

// testOrigin is a real origin with a trunk listener on loopback.
type testOrigin struct {
	srv  *origin.Server
	logs *syncBuffer
	stop func() // cancel + Shutdown: the origin goes away (listeners closed), once
}

// startOrigin runs an origin serving apps (name → main.js) with the given trunk secret.
func startOrigin(t *testing.T, secret string, apps map[string]string) *testOrigin {
	t.Helper()
	return startOriginWith(t, apps, func(c *origin.Config) { c.TrunkSecret = secret })
}

// startOriginWith is startOrigin with the configuration adjusted by set.
func startOriginWith(t *testing.T, apps map[string]string, set func(*origin.Config)) *testOrigin {
	t.Helper()
	dir := writeApps(t, apps)
	cfg := origin.DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.Apps, cfg.Data = dir, t.TempDir()
	cfg.Limits.DrainTimeout = time.Second
	set(&cfg)
	logs := &syncBuffer{}
	srv, err := origin.New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() { cancel(); srv.Shutdown() })
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("origin logs:\n%s", tail(logs.String(), 40))
		}
	})
	return &testOrigin{srv: srv, logs: logs, stop: stop}
}

// writeApps makes an apps folder with one main.js per app.
func writeApps(t *testing.T, apps map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, code := range apps {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "main.js"), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type testEdge struct {
	srv  *Server
	logs *syncBuffer
}

func startEdge(t *testing.T, secret string, origins ...*testOrigin) *testEdge {
	t.Helper()
	return startEdgeWith(t, func(c *Config) { c.TrunkSecret = secret }, origins...)
}

// startEdgeWith is startEdge with the configuration adjusted by set.
func startEdgeWith(t *testing.T, set func(*Config), origins ...*testOrigin) *testEdge {
	t.Helper()
	cfg := DefaultConfig()
	cfg.RTMP, cfg.HTTP, cfg.ID = "127.0.0.1:0", "", "edge-test"
	for _, o := range origins {
		cfg.Origins = append(cfg.Origins, o.srv.TrunkAddr().String())
	}
	cfg.Limits.DrainTimeout = time.Second
	cfg.Limits.ReconnectMin = 20 * time.Millisecond
	cfg.Limits.ReconnectMax = 200 * time.Millisecond
	set(&cfg)
	logs := &syncBuffer{}
	srv, err := New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		srv.Shutdown()
		if t.Failed() {
			t.Logf("edge logs:\n%s", tail(logs.String(), 40))
		}
	})
	return &testEdge{srv: srv, logs: logs}
}

func (e *testEdge) url(path string) string { return "rtmp://" + e.srv.RTMPAddr().String() + "/" + path }

func dial(t *testing.T, url string, opt rtmpclient.Options) *rtmpclient.Client {
	t.Helper()
	c, err := rtmpclient.Dial(ctx5(t), url, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// waitFor polls cond: for states with no event to await (a socket count on the origin).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
