package edge

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

// scaleClients is the acceptance figure of issue 5: this many clients on one edge at once.
const scaleClients = 500

// scaleApp answers with the instance that served the call, so that a test can tell the edge
// routed each client to its own instance.
const scaleApp = `
application.onConnect = function () { return true; };
Client.prototype.where = function (x) { return {inst: application.name, x: x}; };
`

// requireFDs fails clearly, instead of with a stray EMFILE, when the test process may not hold
// the descriptors of the 500-client tests: each client costs two here (its socket and the
// edge's), and both scale tests run in parallel with the rest of the package.
func requireFDs(t *testing.T) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if need := uint64(4*scaleClients + 512); lim.Cur < need {
		t.Fatalf("the scale tests need about %d file descriptors; ulimit -n is %d", need, lim.Cur)
	}
}

// openFDs counts this process's open descriptors (-1 where /proc is not there), for the log.
func openFDs() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// dialMany connects n clients to urlOf(i) at the same time (at most 64 handshakes in flight, so
// the listen backlog is never the limit) and returns them all, or the first error. They are
// closed at cleanup.
func dialMany(t *testing.T, n int, urlOf func(i int) string, opt rtmpclient.Options) []*rtmpclient.Client {
	t.Helper()
	clients := make([]*rtmpclient.Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			clients[i], errs[i] = rtmpclient.Dial(ctx, urlOf(i), opt)
		}()
	}
	wg.Wait()
	t.Cleanup(func() { closeAll(clients) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("client %d of %d: %v", i, n, err)
		}
	}
	return clients
}

// unlimitedLoopback lifts the per-address limits: all of a scale test's clients come from
// 127.0.0.1, more of them and faster than the defaults let one address (100 at once, 20 a
// second after a burst of 100).
func unlimitedLoopback(c *Config) {
	c.Limits.MaxConnectionsPerAddress, c.Limits.AcceptRate = -1, -1
}

// closeAll closes the clients in parallel (each Close waits for its reader).
func closeAll(clients []*rtmpclient.Client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
	}
	wg.Wait()
}

// forEach runs f for every client concurrently and reports each error with the client's index.
func forEach(t *testing.T, clients []*rtmpclient.Client, f func(i int, c *rtmpclient.Client) error) {
	t.Helper()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(i, c) }()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Errorf("client %d: %v", i, err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d clients failed", failed, len(clients))
	}
}

// TestFiveHundredClientsOneTrunk (issue 5, acceptance): 500 clients connected at the same time
// through one edge, spread over five app instances, each get a correct answer from their own
// instance; meanwhile the origin holds exactly one TCP connection from the edge (its trunk) and
// none from clients, and its /metrics say so, with the edge's 500 sessions.
func TestFiveHundredClientsOneTrunk(t *testing.T) {
	t.Parallel()
	requireFDs(t)
	o := startOriginWith(t, map[string]string{"scale": scaleApp}, func(c *origin.Config) { c.HTTP = "127.0.0.1:0" })
	e := startEdgeWith(t, func(c *Config) { c.ID = "edge-scale"; unlimitedLoopback(c) }, o)
	const instances = 5
	clients := dialMany(t, scaleClients, func(i int) string { return e.url(fmt.Sprint("scale/room", i%instances)) },
		rtmpclient.Options{EventBuffer: 8})
	forEach(t, clients, func(i int, c *rtmpclient.Client) error {
		return callWhere(c, i, fmt.Sprint("scale/room", i%instances))
	})
	// All 500 are still connected: the edge's sessions are open on the origin.
	addr := o.srv.HTTPAddr().String()
	waitMetric(t, addr, `fmsgo_edge_sessions{edge="edge-scale"}`, scaleClients)
	if n := o.srv.TrunkConns(); n != 1 {
		t.Fatalf("origin has %d trunk connections from one edge carrying %d clients, want 1", n, scaleClients)
	}
	t.Logf("%d clients connected: this test process has %d descriptors open", scaleClients, openFDs())
	m := scrape(t, addr)
	for series, want := range map[string]float64{
		`fmsgo_connections{listener="trunk"}`:          1,
		`fmsgo_connections{listener="rtmp"}`:           0,
		`fmsgo_edge_trunks{edge="edge-scale"}`:         1,
		`fmsgo_edge_sessions{edge="edge-scale"}`:       scaleClients,
		`fmsgo_edge_sessions_total{edge="edge-scale"}`: scaleClients,
	} {
		if got := metricValue(m, series); got != want {
			t.Errorf("origin %s = %v, want %v", series, got, want)
		}
	}
	for _, c := range clients {
		select {
		case <-c.Done():
			t.Fatalf("a client was disconnected: %v", c.Err())
		default:
		}
	}
}

// callWhere calls scaleApp's where(i) and checks the answer came from instance inst, for i.
func callWhere(c *rtmpclient.Client, i int, inst string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := c.Call(ctx, "where", float64(i))
	if err != nil {
		return err
	}
	got, _ := v.(*amf.Object)
	if got == nil {
		return fmt.Errorf("where(%d) answered %#v", i, v)
	}
	if x, _ := got.Get("x"); got.String("inst") != inst || x != float64(i) {
		return fmt.Errorf("where(%d) answered %v from %q, want %d from %q", i, x, got.String("inst"), i, inst)
	}
	return nil
}

// scaleFrame is a small H.264 frame (FLV video tag body) whose bytes carry its number, so a
// player can check it got exactly the frames published after it joined, in order.
func scaleFrame(n, size int) []byte {
	p := make([]byte, size)
	p[0], p[1] = 0x17, 1 // keyframe, NALU
	if n > 0 {
		p[0] = 0x27 // inter frame
	}
	for i := 5; i < size; i++ {
		p[i] = byte(n)
	}
	return p
}

// expectFrames reads a player's events until it has the frames 0..n-1 of scaleFrame, in order.
func expectFrames(c *rtmpclient.Client, n, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	next := 0
	for next < n {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d frames: %w", next, n, err)
		}
		if ev.Kind != rtmpclient.EventMedia || ev.TypeID != 9 || len(ev.Payload) < 2 || ev.Payload[1] != 1 {
			continue // status, metadata, the sequence header
		}
		if len(ev.Payload) != size || ev.Payload[size-1] != byte(next) || ev.Timestamp != uint32(40*(next+1)) {
			return fmt.Errorf("frame %d: got %d bytes ending %d at %d ms", next, len(ev.Payload), ev.Payload[len(ev.Payload)-1], ev.Timestamp)
		}
		next++
	}
	return nil
}

// waitDataStart waits for |RtmpSampleAccess, the last message the origin sends an AMF0 player's
// session after Play.Start (NetStream.Data.Start goes to AMF3 clients only): from then on the
// trunk carries only the stream for this player.
func waitDataStart(ctx context.Context, c *rtmpclient.Client) error {
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return fmt.Errorf("waiting for |RtmpSampleAccess: %w", err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info.String("level") == "error" {
			return fmt.Errorf("play: %v", ev.Info)
		}
		if ev.Kind == rtmpclient.EventData && ev.Name == "|RtmpSampleAccess" {
			return nil
		}
	}
}

// TestFiveHundredPlayersOnePull (issue 5, acceptance): a stream published on the origin and
// played by 500 players through one edge crosses the trunk once: every player gets every frame
// published after it joined, the origin serves a single subscriber (the edge's pull), and the
// bytes the origin sent that edge meanwhile are about the stream's own size, not 500 times it.
func TestFiveHundredPlayersOnePull(t *testing.T) {
	t.Parallel()
	requireFDs(t)
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) { c.HTTP = "127.0.0.1:0" })
	e := startEdgeWith(t, func(c *Config) { c.ID = "edge-pull"; unlimitedLoopback(c) }, o)
	pub, sid := startLivePublisher(t, o) // live/cam with its sequence header
	players := dialMany(t, scaleClients, func(int) string { return e.url("live") }, rtmpclient.Options{EventBuffer: 64})
	forEach(t, players, func(_ int, c *rtmpclient.Client) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		id, err := c.CreateStream(ctx)
		if err != nil {
			return err
		}
		if err := c.Play(id, "cam", -1); err != nil {
			return err
		}
		return waitDataStart(ctx, c)
	})
	waitFor(t, "500 players attached on the edge", func() bool { return localViewers(e.srv, "live/_definst_", "cam") == scaleClients })
	addr := o.srv.HTTPAddr().String()
	const bytesOut = `fmsgo_edge_bytes_out{edge="edge-pull"}`
	before := metricValue(scrape(t, addr), bytesOut)

	const frames, size = 10, 4000
	for n := range frames {
		if err := pub.WriteMedia(sid, 9, uint32(40*(n+1)), scaleFrame(n, size)); err != nil {
			t.Fatal(err)
		}
	}
	forEach(t, players, func(_ int, c *rtmpclient.Client) error { return expectFrames(c, frames, size) })

	if n := o.srv.TrunkSubscriptions(); n != 1 {
		t.Fatalf("origin serves %d subscriptions for %d players of one stream on one edge, want 1", n, scaleClients)
	}
	m := scrape(t, addr)
	if got := metricValue(m, `fmsgo_instance_players{instance="live/_definst_"}`); got != 1 {
		t.Errorf("origin counts %v players of live/_definst_, want 1 (the edge's pull)", got)
	}
	if got := metricValue(m, `fmsgo_edge_pulled_streams{edge="edge-pull"}`); got != 1 {
		t.Errorf("origin says the edge pulls %v streams, want 1", got)
	}
	sent, stream := metricValue(m, bytesOut)-before, float64(frames*size)
	t.Logf("%d frames (%v bytes) to %d players: the origin sent the edge %v bytes (%.2f×)", frames, stream, scaleClients, sent, sent/stream)
	if sent < stream || sent >= 2*stream {
		t.Fatalf("origin sent the edge %v bytes for a %v-byte stream played %d times there, want 1× to 2×", sent, stream, scaleClients)
	}
	if got := metricValue(m, `fmsgo_connections{listener="rtmp"}`); got != 1 {
		t.Errorf("origin has %v direct RTMP connections, want 1 (the publisher): players must not reach it directly", got)
	}
}
