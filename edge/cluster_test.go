package edge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
	"github.com/rs/zerolog"
)

func whoamiApp(name string) string {
	return fmt.Sprintf("application.onConnect = function () { return true; };\nClient.prototype.whoami = function () { return %q; };\n", name)
}

// TestTwoOriginsThreeEdges: every edge maps an instance to the same origin; killing one origin
// closes exactly the clients of its instances (NetConnection.Connect.Closed), the other origin's
// clients never notice, and the edges reconnect when it comes back.
func TestTwoOriginsThreeEdges(t *testing.T) {
	t.Parallel()
	oa := startOrigin(t, "", map[string]string{"app": whoamiApp("A")})
	ob := startOrigin(t, "", map[string]string{"app": whoamiApp("B")})
	edges := []*testEdge{startEdge(t, "", oa, ob), startEdge(t, "", oa, ob), startEdge(t, "", oa, ob)}
	for _, e := range edges {
		waitFor(t, "both trunks", func() bool { return e.srv.TrunksUp() == 2 })
	}
	// Find instances on each origin, consistently from every edge.
	owner := map[string]string{}
	clients := map[string][]*rtmpclient.Client{}
	for i := 0; i < 12; i++ {
		inst := fmt.Sprintf("app/room%d", i)
		for _, e := range edges {
			c := dial(t, e.url(inst), rtmpclient.Options{})
			v, err := c.Call(ctx5(t), "whoami")
			if err != nil {
				t.Fatal(err)
			}
			who := v.(string)
			if prev, ok := owner[inst]; ok && prev != who {
				t.Fatalf("%s is on origin %s from one edge and %s from another", inst, prev, who)
			}
			owner[inst] = who
			clients[inst] = append(clients[inst], c)
		}
	}
	var onA, onB []string
	for inst, who := range owner {
		if who == "A" {
			onA = append(onA, inst)
		} else {
			onB = append(onB, inst)
		}
	}
	if len(onA) == 0 || len(onB) == 0 {
		t.Fatalf("12 instances all on one origin: A=%v B=%v", onA, onB)
	}
	trunkAddr := oa.srv.TrunkAddr().String()
	oa.stop() // origin A goes away
	for _, inst := range onA {
		for _, c := range clients[inst] {
			if code := closedWith(t, c); code != "NetConnection.Connect.Closed" {
				t.Fatalf("%s: closed with %q", inst, code)
			}
		}
	}
	for _, inst := range onB {
		for _, c := range clients[inst] {
			if v, err := c.Call(ctx5(t), "whoami"); err != nil || v != "B" {
				t.Fatalf("%s on the surviving origin noticed: %v %v", inst, v, err)
			}
		}
	}
	// Origin A comes back on the same trunk address: the edges reconnect.
	restartOrigin(t, trunkAddr, whoamiApp("A"))
	for _, e := range edges {
		waitFor(t, "the edge to reconnect", func() bool { return e.srv.TrunksUp() == 2 })
	}
	c := dial(t, edges[0].url(onA[0]), rtmpclient.Options{})
	if v, err := c.Call(ctx5(t), "whoami"); err != nil || v != "A" {
		t.Fatalf("after A came back: %v %v", v, err)
	}
}

// closedWith waits for the connection to end and returns the last NetConnection status code.
func closedWith(t *testing.T, c *rtmpclient.Client) string {
	t.Helper()
	code := ""
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			if ctxErr := ctx5(t).Err(); ctxErr != nil {
				t.Fatal(ctxErr)
			}
			return code
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info != nil {
			code = ev.Info.String("code")
		}
	}
}

// restartOrigin starts a new origin with the trunk on a given address.
func restartOrigin(t *testing.T, trunkAddr, code string) {
	t.Helper()
	startOriginAt(t, trunkAddr, map[string]string{"app": code})
}

func startOriginAt(t *testing.T, trunkAddr string, apps map[string]string) *testOrigin {
	t.Helper()
	dir := writeApps(t, apps)
	cfg := origin.DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", trunkAddr, ""
	cfg.Apps, cfg.Data = dir, t.TempDir()
	cfg.Limits.DrainTimeout = time.Second
	logs := &syncBuffer{}
	srv, err := origin.New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := func() { cancel(); srv.Shutdown() }
	t.Cleanup(stop)
	return &testOrigin{srv: srv, logs: logs, stop: stop}
}
