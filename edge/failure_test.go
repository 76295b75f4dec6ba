package edge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// startLivePublisher publishes live/cam directly on the origin and returns the publisher.
func startLivePublisher(t *testing.T, o *testOrigin) (*rtmpclient.Client, uint32) {
	t.Helper()
	pub := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "live"); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}); err != nil {
		t.Fatal(err)
	}
	return pub, sid
}

// startEdgePlayer plays live/cam through the edge and waits until its local delivery is attached.
func startEdgePlayer(t *testing.T, e *testEdge) *rtmpclient.Client {
	t.Helper()
	c := dial(t, e.url("live"), rtmpclient.Options{})
	id, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(id, "cam", -1); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "NetStream.Play.Start")
	return c
}

// statusCodes collects the status codes a client gets until its connection ends.
func statusCodes(t *testing.T, c *rtmpclient.Client) []string {
	t.Helper()
	var codes []string
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			if ctxErr := ctx5(t).Err(); ctxErr != nil {
				t.Fatalf("connection still open after %v; statuses %v", ctxErr, codes)
			}
			return codes
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info != nil {
			codes = append(codes, ev.Info.String("code"))
		}
	}
}

// TestTrunkLossPlayerSeesUnpublishFirst: when the trunk dies, a player of a live stream is told
// NetStream.Play.UnpublishNotify and then NetConnection.Connect.Closed, and the connection ends.
func TestTrunkLossPlayerSeesUnpublishFirst(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	startLivePublisher(t, o)
	players := []*rtmpclient.Client{startEdgePlayer(t, e), startEdgePlayer(t, e)}
	waitFor(t, "viewers attached", func() bool { return localViewers(e.srv, "live/_definst_", "cam") == len(players) })
	st, _ := e.srv.links[0].current()
	st.conn.Close()
	for i, c := range players {
		codes := statusCodes(t, c)
		un, closed := slices.Index(codes, "NetStream.Play.UnpublishNotify"), slices.Index(codes, "NetConnection.Connect.Closed")
		if un < 0 || closed < 0 || un > closed {
			t.Fatalf("player %d got %v, want UnpublishNotify then Connect.Closed", i, codes)
		}
	}
	if strings.Contains(e.logs.String(), "too slow") {
		t.Fatal("players of a lost trunk were logged as too slow")
	}
}

// instanceOn finds an app instance of "app" that the edge maps to origin index i.
func instanceOn(t *testing.T, e *testEdge, i int) string {
	t.Helper()
	for n := range 100 {
		inst := fmt.Sprintf("app/room%d", n)
		if pickOrigin(e.srv.cfg.Origins, inst) == i {
			return inst
		}
	}
	t.Fatalf("no instance maps to origin %d", i)
	return ""
}

func whoami(t *testing.T, e *testEdge, inst string) (string, error) {
	t.Helper()
	c, err := rtmpclient.Dial(ctx5(t), e.url(inst), rtmpclient.Options{})
	if err != nil {
		return "", err
	}
	defer c.Close()
	v, err := c.Call(ctx5(t), "whoami")
	s, _ := v.(string)
	return s, err
}

// TestOriginDown: a new connection for an instance whose origin is down is rejected with a clear
// status, or, with Failover, served by the next origin in hash order; other instances never notice.
func TestOriginDown(t *testing.T) {
	t.Parallel()
	oa := startOrigin(t, "", map[string]string{"app": whoamiApp("A")})
	ob := startOrigin(t, "", map[string]string{"app": whoamiApp("B")})
	short := func(failover bool) func(*Config) {
		return func(c *Config) { c.Failover, c.Limits.OriginWait = failover, 300*time.Millisecond }
	}
	plain, fo := startEdgeWith(t, short(false), oa, ob), startEdgeWith(t, short(true), oa, ob)
	for _, e := range []*testEdge{plain, fo} {
		waitFor(t, "both trunks", func() bool { return e.srv.TrunksUp() == 2 })
	}
	onA, onB := instanceOn(t, plain, 0), instanceOn(t, plain, 1)
	if who, err := whoami(t, fo, onA); err != nil || who != "A" {
		t.Fatalf("failover edge with every origin up: %q %v", who, err)
	}
	oa.stop()
	for _, e := range []*testEdge{plain, fo} {
		waitFor(t, "origin A seen down", func() bool { return e.srv.links[0].isDown() })
	}
	_, err := whoami(t, plain, onA)
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), "Origin unavailable") {
		t.Fatalf("connect for a down origin without failover: %v", err)
	}
	if d := se.Description(); strings.Contains(d, "127.0.0.1") || strings.Contains(d, "dial") {
		t.Fatalf("the client was shown the origin's internal address or network error: %q", d)
	}
	if !strings.Contains(plain.logs.String(), "connect rejected: origin unavailable") {
		t.Fatal("the edge did not log the rejection")
	}
	if who, err := whoami(t, fo, onA); err != nil || who != "B" {
		t.Fatalf("failover: %q %v, want the next origin (B)", who, err)
	}
	if !strings.Contains(fo.logs.String(), "routed to the next origin") {
		t.Fatal("the failover was not logged")
	}
	for _, e := range []*testEdge{plain, fo} {
		if who, err := whoami(t, e, onB); err != nil || who != "B" {
			t.Fatalf("instance of the surviving origin: %q %v", who, err)
		}
	}
}

func TestRankOriginsStartsWithPick(t *testing.T) {
	t.Parallel()
	origins := []string{"o1:19350", "o2:19350", "o3:19350", "o4:19350"}
	for i := range 200 {
		key := fmt.Sprintf("app/inst%d", i)
		order := rankOrigins(origins, key)
		if order[0] != pickOrigin(origins, key) {
			t.Fatalf("%s: rank %v, pick %d", key, order, pickOrigin(origins, key))
		}
		seen := slices.Clone(order)
		slices.Sort(seen)
		if !slices.Equal(seen, []int{0, 1, 2, 3}) {
			t.Fatalf("%s: rank %v is not a permutation", key, order)
		}
		// Without its first origin, an instance goes to the second of the full ranking: the
		// order is the same from every edge and with or without the failed origin listed.
		rest := rankOrigins(origins[1:], key)
		if order[0] == 0 && rest[0]+1 != order[1] {
			t.Fatalf("%s: rank %v, without o1 %v", key, order, rest)
		}
	}
}
