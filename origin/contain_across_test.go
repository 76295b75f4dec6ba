package origin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

const growApp = `
application.onConnect = function () { return true; };
var chunk = 'x'; while (chunk.length < 1048576) chunk += chunk;
var keep = [];
Client.prototype.startGrowing = function () {
	setInterval(function () { keep.push(chunk + keep.length); }, 10);
	return "growing";
};
Client.prototype.work = function (n) {
	var a = []; for (var i = 0; i < 200; i++) a.push({i: i, s: "v" + i});
	return a.length;
};
Client.prototype.ok = function () { return "ok"; };
Client.prototype.spin = function () {
	setInterval(function () { var end = Date.now() + 200; while (Date.now() < end) {} }, 10);
	return "spinning";
};
`

// startOriginWithFiles starts an origin whose apps folder already holds files ("APP/FILE" →
// content) when it starts, so that no reload follows (a reload's new generation would not carry
// the timers a test starts right after connecting).
func startOriginWithFiles(t *testing.T, files map[string]string) *testOrigin {
	t.Helper()
	return startOriginWith(t, func(cfg *Config) {
		for name, content := range files {
			p := filepath.Join(cfg.Apps, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// awaitAppShutdown waits for the server's NetConnection.Connect.AppShutdown on c, while
// meanwhile runs between events; it returns the status description.
func awaitAppShutdown(t *testing.T, c *rtmpclient.Client, meanwhile func()) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		ev, err := c.NextEvent(ctx)
		cancel()
		if err == nil && ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetConnection.Connect.AppShutdown" {
			return ev.Info.String("description")
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("connection ended without AppShutdown: %v", err)
		}
		meanwhile()
	}
	t.Fatal("no AppShutdown")
	return ""
}

// callLatencies runs one call on c and appends its latency; a failed call fails the test.
func callLatency(t *testing.T, c *rtmpclient.Client, lat *[]time.Duration, method string, args ...any) {
	t.Helper()
	start := time.Now()
	if _, err := c.Call(ctx5(t), method, args...); err != nil {
		t.Fatalf("innocent call %s failed: %v", method, err)
	}
	*lat = append(*lat, time.Since(start))
}

func p99(lat []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0
	}
	return s[len(s)/2], s[len(s)*99/100]
}

// TestGrowingInstanceUnloadedInnocentServes: of two instances of one app, the one whose
// setInterval keeps memory is unloaded once its retained heap passes instanceMemoryLimitMB (its
// client gets AppShutdown, the reason is logged); the other, doing modest work that makes
// garbage meanwhile, keeps serving calls and stays loaded.
func TestGrowingInstanceUnloadedInnocentServes(t *testing.T) {
	t.Parallel()
	o := startOriginWithFiles(t, map[string]string{"grow/main.js": growApp, "grow/app.json": `{"instanceMemoryLimitMB": 48}`})
	grower := dial(t, o.url("grow/grower"), rtmpclient.Options{})
	innocent := dial(t, o.url("grow/innocent"), rtmpclient.Options{})
	if v, err := grower.Call(ctx5(t), "startGrowing"); err != nil || v != "growing" {
		t.Fatalf("startGrowing: %v %v", v, err)
	}
	var lat []time.Duration
	desc := awaitAppShutdown(t, grower, func() { callLatency(t, innocent, &lat, "work") })
	if !strings.Contains(desc, "retained heap over its limit") {
		t.Fatalf("AppShutdown description %q does not say why", desc)
	}
	for i := 0; i < 20; i++ {
		callLatency(t, innocent, &lat, "work")
	}
	p50, p99v := p99(lat)
	t.Logf("innocent instance: %d calls while the grower grew and after, p50 %v p99 %v", len(lat), p50, p99v)
	if !strings.Contains(o.logs.String(), "grow/grower: js instance retained heap over its limit") {
		t.Fatal("the reason is not in the log")
	}
	if n := o.srv.engine.Instances("grow"); n != 1 {
		t.Fatalf("%d instances of grow loaded, want the innocent one", n)
	}
	if st := o.srv.engine.Stats(); st.UnloadedMemory != 1 || st.UnloadedCPU != 0 {
		t.Fatalf("stats %+v, want one unload for memory", st)
	}
}

// TestSpinningTimerThrottledThenUnloaded: a timer that spins just under its handler budget on
// every tick is throttled once its instance passes its CPU share over the window, then unloaded
// (AppShutdown, reason logged) when it stays over while throttled; another app's calls are
// answered all along.
func TestSpinningTimerThrottledThenUnloaded(t *testing.T) {
	t.Parallel()
	o := startOriginWithFiles(t, map[string]string{"spin/main.js": growApp, "calm/main.js": growApp,
		"spin/app.json": `{"handlerTimeoutMs": 250, "cpuShare": 0.5, "cpuWindowMs": 1500}`})
	spinner := dial(t, o.url("spin/a"), rtmpclient.Options{})
	calm := dial(t, o.url("calm/a"), rtmpclient.Options{})
	if v, err := spinner.Call(ctx5(t), "spin"); err != nil || v != "spinning" {
		t.Fatalf("spin: %v %v", v, err)
	}
	var lat []time.Duration
	desc := awaitAppShutdown(t, spinner, func() { callLatency(t, calm, &lat, "ok") })
	if !strings.Contains(desc, "over its CPU share") {
		t.Fatalf("AppShutdown description %q does not say why", desc)
	}
	logs := o.logs.String()
	throttled := strings.Index(logs, "instance over its CPU share; throttled")
	unloaded := strings.Index(logs, "spin/a: js instance over its CPU share")
	if throttled < 0 || unloaded < throttled {
		t.Fatalf("want a throttle, then the unload, in the log (at %d, %d)", throttled, unloaded)
	}
	if st := o.srv.engine.Stats(); st.UnloadedCPU != 1 {
		t.Fatalf("stats %+v, want one unload for CPU", st)
	}
	p50, p99v := p99(lat)
	t.Logf("other app: %d calls while the spinner ran, p50 %v p99 %v", len(lat), p50, p99v)
}
