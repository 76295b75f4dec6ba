package origin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

const reloadV1 = `
var version = 1;
application.onConnect = function (client, name) {
	client.name = name;
	client.hello = function () { return "hello " + this.name; };
	if (name === "pending") { trace("left pending: " + name); return; } // decided by a later code version
	return true;
};
Client.prototype.ver = function () { return "v" + version; };
Client.prototype.who = function () { return this.name; };
`

var reloadV2 = strings.ReplaceAll(strings.ReplaceAll(reloadV1, "var version = 1;", "var version = 2;"),
	`if (name === "pending") { trace("left pending: " + name); return; }`, `if (name === "pending") { return true; }`)

// saveAtomically writes like editors that save through a temporary file and a rename.
func saveAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".main.js.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestHotReloadWithClientsAndStream: 200 clients and a playing stream through code changes
// (atomic rename, in-place write, a syntax error, then deleting the app).
func TestHotReloadWithClientsAndStream(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { // 200 clients from 127.0.0.1: past the per-address defaults
		c.Limits.MaxConnectionsPerAddress, c.Limits.AcceptRate = -1, -1
	})
	main := o.writeApp(t, "hot", reloadV1)
	const n = 200
	clients := make([]*rtmpclient.Client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			clients[i] = dial(t, o.url("hot"), rtmpclient.Options{ConnectArgs: []any{fmt.Sprintf("c%d", i)}, EventBuffer: 64})
		}(i)
	}
	wg.Wait()

	// a stream publishing and one player measuring the largest gap between frames
	pub, sid := startPublisher(t, o, "hot", "s")
	publishHeaders(t, pub, sid)
	stop := make(chan struct{})
	var pubDone sync.WaitGroup
	pubDone.Add(1)
	go func() {
		defer pubDone.Done()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				pub.WriteMedia(sid, 9, uint32(i*40), videoFrame(i, i%25 == 0, 800))
			}
		}
	}()
	t.Cleanup(func() { close(stop); pubDone.Wait() })
	player := dial(t, o.url("hot"), rtmpclient.Options{ConnectArgs: []any{"player"}})
	psid, _ := player.CreateStream(ctx5(t))
	player.Play(psid, "s", -1)
	var maxGap atomic.Int64
	var frames atomic.Int64
	go func() {
		last := time.Time{}
		for ev := range player.Events() {
			if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 {
				if !last.IsZero() {
					if g := time.Since(last); int64(g) > maxGap.Load() {
						maxGap.Store(int64(g))
					}
				}
				last = time.Now()
				frames.Add(1)
			}
		}
	}()
	waitFor(t, 10*time.Second, "the player to get frames", func() bool { return frames.Load() > 10 })

	// a connection left pending by v1
	pendingDone := make(chan error, 1)
	go func() {
		c, err := rtmpclient.Dial(ctx5(t), o.url("hot"), rtmpclient.Options{ConnectArgs: []any{"pending"}})
		if err == nil {
			c.Close()
		}
		pendingDone <- err
	}()
	waitFor(t, 5*time.Second, "the pending connection", func() bool { return strings.Contains(o.logs.String(), "left pending: pending") })

	call := func(c *rtmpclient.Client, m string) string {
		v, err := c.Call(ctx5(t), m)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		s, _ := v.(string)
		return s
	}
	if got := call(clients[0], "ver"); got != "v1" {
		t.Fatalf("before reload: %s", got)
	}
	saveAtomically(t, main, reloadV2)
	took := waitFor(t, 5*time.Second, "new code to answer", func() bool { return call(clients[0], "ver") == "v2" })
	t.Logf("reload (atomic rename) live after %v", took)
	if err := <-pendingDone; err != nil {
		t.Fatalf("pending connection was not accepted by the new code: %v", err)
	}
	for i, c := range clients {
		if c.Err() != nil {
			t.Fatalf("client %d dropped: %v", i, c.Err())
		}
		if got := call(c, "ver"); got != "v2" {
			t.Fatalf("client %d runs %s", i, got)
		}
		if got := call(c, "who"); got != fmt.Sprintf("c%d", i) {
			t.Fatalf("client %d data lost: %q", i, got)
		}
		if got := call(c, "hello"); got != fmt.Sprintf("hello c%d", i) {
			t.Fatalf("client %d per-client method lost: %q", i, got)
		}
	}

	// a syntax error keeps the old code
	if err := os.WriteFile(main, []byte("application.onConnect = function( {"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the syntax error to be logged", func() bool { return strings.Contains(o.logs.String(), "main.js:1:") })
	if got := call(clients[1], "ver"); got != "v2" {
		t.Fatalf("after a syntax error: %s", got)
	}
	// an in-place write
	if err := os.WriteFile(main, []byte(strings.ReplaceAll(reloadV2, "var version = 2;", "var version = 3;")), 0o644); err != nil {
		t.Fatal(err)
	}
	took = waitFor(t, 5*time.Second, "v3", func() bool { return call(clients[2], "ver") == "v3" })
	t.Logf("reload (in-place write) live after %v", took)

	gap := time.Duration(maxGap.Load())
	t.Logf("largest gap between frames at the player across the reloads: %v (GOP 1 s)", gap)
	if gap > time.Second+500*time.Millisecond {
		t.Fatalf("media gap %v beyond one GOP", gap)
	}

	// deleting the app shuts its clients down with AppShutdown
	if err := os.RemoveAll(filepath.Dir(main)); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := clients[3].NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("no AppShutdown before the close: %v", err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetConnection.Connect.AppShutdown" {
			break
		}
	}
}
