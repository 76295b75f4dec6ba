package origin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// refusePolicy is a hook that refuses publishing one stream name.
func refusePolicy(name string) string {
	return fmt.Sprintf(`server.onPublish = function (req) {
  if (req.stream === %q) return {reject: req.stream + " is refused by policy"};
};
`, name)
}

// publishVerdict publishes name on a new stream of c and deletes the stream again; it returns
// the status code and description.
func publishVerdict(t *testing.T, c *rtmpclient.Client, name string) (code, desc string) {
	t.Helper()
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.DeleteStream(sid) }()
	info, err := c.Publish(ctx5(t), sid, name, "live")
	var se *rtmpclient.StatusError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("publish %s: %v", name, err)
	}
	return info.String("code"), info.String("description")
}

// TestHookPolicyEditWith100Clients is issue 11's acceptance for the JavaScript hooks: with 100
// clients connected (and calling the app all along), the hook's policy is rewritten several
// times; each time, new publishes poll until the new policy refuses its stream, which must
// happen within 1 s of the write, and every client is still connected and answered at the end.
func TestHookPolicyEditWith100Clients(t *testing.T) {
	t.Parallel()
	hooks := t.TempDir()
	policy := filepath.Join(hooks, "policy", "main.js")
	if err := os.MkdirAll(filepath.Dir(policy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte(refusePolicy("blocked")), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startOriginWith(t, func(c *Config) {
		c.Hooks = hooks
		c.Limits.MaxConnectionsPerAddress, c.Limits.AcceptRate = -1, -1 // 100 clients from 127.0.0.1
	}, "live")
	o.writeApp(t, "live", `Client.prototype.ping = function () { return "pong"; };`)

	const n = 100
	clients := make([]*rtmpclient.Client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			clients[i] = dial(t, o.url("live"), rtmpclient.Options{EventBuffer: 64})
		}(i)
	}
	wg.Wait()

	// The clients keep calling the app while the policy changes under them.
	stop := make(chan struct{})
	var calls, failed atomic.Int64
	var callers sync.WaitGroup
	for w := 0; w < 4; w++ {
		callers.Add(1)
		go func(w int) {
			defer callers.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				if v, err := clients[i%n].Call(ctx5(t), "ping"); err != nil || v != "pong" {
					failed.Add(1)
				}
				calls.Add(1)
			}
		}(w)
	}

	poller := dial(t, o.url("live"), rtmpclient.Options{EventBuffer: 64})
	if code, desc := publishVerdict(t, poller, "blocked"); code != "NetStream.Publish.BadName" || desc != "blocked is refused by policy" {
		t.Fatalf("v1 blocked: %s %q", code, desc)
	}
	if code, _ := publishVerdict(t, poller, "other"); code != "NetStream.Publish.Start" {
		t.Fatalf("v1 other: %s", code)
	}

	refused := "blocked"
	var took []time.Duration
	for round, next := range []string{"other", "blocked", "other", "blocked", "other"} {
		content := refusePolicy(next)
		start := time.Now()
		if round%2 == 0 {
			saveAtomically(t, policy, content)
		} else if err := os.WriteFile(policy, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		polls := 0
		for {
			polls++
			code, desc := publishVerdict(t, poller, next)
			if code == "NetStream.Publish.BadName" && desc == next+" is refused by policy" {
				break
			}
			if code != "NetStream.Publish.Start" {
				t.Fatalf("round %d: publish of %s: %s %q", round, next, code, desc)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("round %d: the new policy never applied; log:\n%s", round, o.logs.String())
			}
		}
		d := time.Since(start)
		took = append(took, d)
		t.Logf("round %d: policy refusing %q applied %v after the write (%d publishes polled)", round, next, d.Round(time.Millisecond), polls)
		if d > time.Second {
			t.Errorf("round %d: the new policy applied after %v, want < 1 s", round, d)
		}
		if code, _ := publishVerdict(t, poller, refused); code != "NetStream.Publish.Start" {
			t.Fatalf("round %d: the old policy still refuses %s: %s", round, refused, code)
		}
		refused = next
	}
	close(stop)
	callers.Wait()

	for i, c := range clients {
		if err := c.Err(); err != nil {
			t.Fatalf("client %d dropped: %v", i, err)
		}
		if v, err := c.Call(ctx5(t), "ping"); err != nil || v != "pong" {
			t.Fatalf("client %d: %v %v", i, v, err)
		}
	}
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d calls failed during the edits", f, calls.Load())
	}
	slices.Sort(took)
	t.Logf("policy applied after the write: min %v, median %v, max %v over %d edits; %d calls by %d connected clients meanwhile, none failed",
		took[0].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond),
		len(took), calls.Load(), n)
}

// TestHooksFolderSetting: the hooks key of the config file; a missing folder is no hooks, a
// file is an error, and a hook that does not compile stops the start.
func TestHooksFolderSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "origin.toml")
	if err := os.WriteFile(p, []byte("hooks = \"/srv/hooks\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if cfg.Hooks != "./hooks" {
		t.Fatalf("default hooks folder %q", cfg.Hooks)
	}
	if err := config.Load(p, &cfg); err != nil || cfg.Hooks != "/srv/hooks" {
		t.Fatalf("hooks key: %q %v", cfg.Hooks, err)
	}

	o := startOriginWith(t, func(c *Config) { c.Hooks = filepath.Join(dir, "missing") }, "live")
	if o.srv.jsHooks != nil || o.srv.plugins.HasAuth() {
		t.Fatal("a missing hooks folder made hooks")
	}

	base := DefaultConfig()
	base.RTMP, base.Trunk, base.HTTP = "127.0.0.1:0", "", ""
	base.Apps, base.Data = t.TempDir(), t.TempDir()
	base.Hooks = p // a file
	if _, err := New(base, o.srv.log); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("hooks file: %v", err)
	}

	broken := filepath.Join(dir, "hooks", "broken", "main.js")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte("server.onConnect = ;"), 0o644); err != nil {
		t.Fatal(err)
	}
	base.Hooks = filepath.Dir(filepath.Dir(broken))
	srv, err := New(base, o.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx5(t)); err == nil || !strings.Contains(err.Error(), "hooks/broken/main.js:1:") {
		t.Fatalf("start with a broken hook: %v", err)
	}
}
