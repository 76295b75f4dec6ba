package edge

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

const whoApp = `
application.onConnect = function (client, name) {
	if (name === "reject") {
		application.rejectConnection(client, {reason: "go away"});
		return;
	}
	return true;
};
Client.prototype.who = function () {
	var e = this.edge;
	return {ip: this.ip, agent: this.agent, referrer: this.referrer, pageUrl: this.pageUrl,
		edgeId: e ? e.id : "", edgeAddress: e ? e.address : ""};
};
Client.prototype.echo = function (x) { return x; };
Client.prototype.bye = function () { var c = this; setTimeout(function () { application.disconnect(c); }, 0); return true; };
Client.prototype.ask = function (x) {
	var self = this;
	return new Promise(function (resolve) {
		self.call("double", {onResult: function (v) { resolve(v); }}, x);
	});
};
`

func TestCallThroughEdgeSeesRealClient(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"who": whoApp})
	e := startEdge(t, testSecret, o)
	for _, enc := range []int{0, 3} {
		t.Run(fmt.Sprint("amf", enc), func(t *testing.T) {
			t.Parallel()
			c := dial(t, e.url("who/room"), rtmpclient.Options{ObjectEncoding: enc, Command: []amf.Prop{
				{Key: "flashVer", Value: "TEST 1,2,3"}, {Key: "swfUrl", Value: "http://ref/x.swf"}, {Key: "pageUrl", Value: "http://page/"}}})
			if code := c.ConnectInfo().String("code"); code != "NetConnection.Connect.Success" {
				t.Fatalf("connect answer: %q", code)
			}
			got, err := c.Call(ctx5(t), "who")
			if err != nil {
				t.Fatal(err)
			}
			o, _ := got.(*amf.Object)
			want := map[string]string{"ip": "127.0.0.1", "agent": "TEST 1,2,3", "referrer": "http://ref/x.swf",
				"pageUrl": "http://page/", "edgeId": "edge-test"}
			for k, v := range want {
				if o.String(k) != v {
					t.Errorf("client.%s = %q, want %q (%#v)", k, o.String(k), v, got)
				}
			}
			if !strings.HasPrefix(o.String("edgeAddress"), "127.0.0.1:") {
				t.Errorf("client.edge.address = %q", o.String("edgeAddress"))
			}
			values := []any{"héllo", 42.0, true, nil, &amf.Object{Props: []amf.Prop{{Key: "k", Value: "v"}}}}
			for _, v := range values {
				back, err := c.Call(ctx5(t), "echo", v)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(back) != fmt.Sprint(v) {
					t.Errorf("echo %#v = %#v", v, back)
				}
			}
		})
	}
}

func TestRejectAndMissingMethodThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"who": whoApp})
	e := startEdge(t, "", o)
	_, err := rtmpclient.Dial(ctx5(t), e.url("who"), rtmpclient.Options{ConnectArgs: []any{"reject"}})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" {
		t.Fatalf("reject through the edge: %v", err)
	}
	if app, _ := se.Application().(*amf.Object); app == nil || app.String("reason") != "go away" {
		t.Fatalf("application object of the rejection: %#v", se.Application())
	}
	_, err = rtmpclient.Dial(ctx5(t), e.url("nosuchapp"), rtmpclient.Options{})
	if !errors.As(err, &se) || !strings.Contains(se.Description(), "nosuchapp") {
		t.Fatalf("unknown app through the edge: %v", err)
	}
	c := dial(t, e.url("who"), rtmpclient.Options{})
	if _, err := c.Call(ctx5(t), "nosuchmethod"); !errors.As(err, &se) {
		t.Fatalf("missing method: %v", err)
	}
}

func TestServerCallThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"who": whoApp})
	e := startEdge(t, "", o)
	c := dial(t, e.url("who"), rtmpclient.Options{})
	c.Handle("double", func(args []any) (any, error) {
		f, _ := args[0].(float64)
		return 2 * f, nil
	})
	got, err := c.Call(ctx5(t), "ask", 21.0)
	if err != nil || got != 42.0 {
		t.Fatalf("app → client → app round trip: %#v, %v", got, err)
	}
}

func TestOneTrunkForManyClients(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"who": whoApp})
	e := startEdge(t, testSecret, o)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := rtmpclient.Dial(ctx5(t), e.url(fmt.Sprint("who/i", i%3)), rtmpclient.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if v, err := c.Call(ctx5(t), "echo", float64(i)); err != nil || v != float64(i) {
				errs <- fmt.Errorf("client %d: %v %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := o.srv.TrunkConns(); got != 1 {
		t.Fatalf("origin serves %d trunk connections for one edge, want 1", got)
	}
}

func TestWrongSecretRejectsClearly(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "right-secret-0123456789", map[string]string{"who": whoApp})
	e := startEdge(t, "wrong-secret-0123456789", o)
	_, err := rtmpclient.Dial(ctx5(t), e.url("who"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), "authentication") {
		t.Fatalf("client behind an edge with a wrong secret: %v", err)
	}
	// The trunk's failure is logged after the waiting connect is rejected: wait for the line.
	waitFor(t, "the edge's log line explaining the failure", func() bool {
		logs := e.logs.String()
		return strings.Contains(logs, "trunk refused by the origin") && strings.Contains(logs, "wrong secret")
	})
}

func TestTrunkLossClosesClientsAndRedials(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"who": whoApp})
	e := startEdge(t, "", o)
	c := dial(t, e.url("who"), rtmpclient.Options{})
	if _, err := c.Call(ctx5(t), "echo", 1.0); err != nil {
		t.Fatal(err)
	}
	old, _ := e.srv.links[0].current()
	old.conn.Close()
	closed := false
	for !closed {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("connection ended without NetConnection.Connect.Closed: %v", err)
		}
		closed = ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetConnection.Connect.Closed"
	}
	<-c.Done()
	// The edge redials: a new client goes over a new trunk.
	c2 := dial(t, e.url("who"), rtmpclient.Options{})
	if v, err := c2.Call(ctx5(t), "echo", 2.0); err != nil || v != 2.0 {
		t.Fatalf("after redial: %v %v", v, err)
	}
	if cur, _ := e.srv.links[0].current(); cur == old {
		t.Fatal("still the old trunk")
	}
}

func TestPickOriginIsStableAndSpreads(t *testing.T) {
	t.Parallel()
	origins := []string{"o1:19350", "o2:19350", "o3:19350"}
	count := make([]int, len(origins))
	for i := range 300 {
		key := fmt.Sprintf("app/inst%d", i)
		k := pickOrigin(origins, key)
		if pickOrigin(origins, key) != k {
			t.Fatal("not deterministic")
		}
		count[k]++
		// Removing another origin never moves this key.
		for drop := range origins {
			if drop == k {
				continue
			}
			rest := append(append([]string(nil), origins[:drop]...), origins[drop+1:]...)
			if rest[pickOrigin(rest, key)] != origins[k] {
				t.Fatalf("%s moved when %s was removed", key, origins[drop])
			}
		}
	}
	for i, n := range count {
		if n < 50 {
			t.Errorf("origin %s got only %d of 300 instances", origins[i], n)
		}
	}
}

var instanceKeyCases = []struct{ app, tcURL, want string }{
	{"live", "rtmp://h/live", "live/_definst_"},
	{"chat/room1", "", "chat/room1"},
	{"chat/room1?token=x", "", "chat/room1"},
	{"", "rtmp://h:1935/vod/inst", "vod/inst"},
	{"/app/", "", "app/_definst_"},
	{"a/b/c", "", "a/b/c"},
}

func TestInstanceKey(t *testing.T) {
	t.Parallel()
	for _, c := range instanceKeyCases {
		if got := instanceKey(c.app, c.tcURL); got != c.want {
			t.Errorf("instanceKey(%q, %q) = %q, want %q", c.app, c.tcURL, got, c.want)
		}
	}
}

func FuzzInstanceKey(f *testing.F) {
	for _, c := range instanceKeyCases {
		f.Add(c.app, c.tcURL)
	}
	f.Fuzz(func(t *testing.T, app, tcURL string) {
		k := instanceKey(app, tcURL)
		if !strings.Contains(k, "/") {
			t.Fatalf("key %q has no instance", k)
		}
		_ = pickOrigin([]string{"a", "b"}, k)
	})
}

func TestPlayThroughEdgePullsOnce(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	pub := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "live"); err != nil {
		t.Fatal(err)
	}
	seq := []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}
	if err := pub.WriteMedia(sid, 9, 0, seq); err != nil {
		t.Fatal(err)
	}
	const viewers = 3
	players := make([]*rtmpclient.Client, viewers)
	for i := range players {
		c := dial(t, e.url("live"), rtmpclient.Options{})
		id, err := c.CreateStream(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Play(id, "cam", -1); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "NetStream.Play.Start")
		players[i] = c
	}
	// Play.Start reaches a viewer just before its local delivery is attached: wait for all three.
	waitFor(t, "viewers attached", func() bool { return localViewers(e.srv, "live/_definst_", "cam") == viewers })
	// One GOP: a keyframe, then inter frames. A viewer whose subscription lands after some of
	// them (the edge's pull is set up after its local viewer attaches) still gets them all from
	// the GOP cache; were every frame a keyframe, the cache would hold only the last one.
	for ts := uint32(40); ts <= 200; ts += 40 {
		frameType := byte(0x27)
		if ts == 40 {
			frameType = 0x17
		}
		if err := pub.WriteMedia(sid, 9, ts, []byte{frameType, 1, 0, 0, 0, byte(ts)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range players {
		got := 0
		for got < 5 {
			ev, err := c.NextEvent(ctx5(t))
			if err != nil {
				t.Fatalf("viewer %d after %d frames: %v", i, got, err)
			}
			if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && len(ev.Payload) == 6 && ev.Payload[1] == 1 {
				got++
			}
		}
	}
	if n := o.srv.TrunkSubscriptions(); n != 1 {
		t.Fatalf("origin serves %d subscriptions to the edge for %d viewers of one stream, want 1", n, viewers)
	}
	for _, c := range players {
		c.Close()
	}
	waitFor(t, "the edge to unsubscribe", func() bool { return o.srv.TrunkSubscriptions() == 0 })
}

func waitStatus(t *testing.T, c *rtmpclient.Client, code string) {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", code, err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == code {
			return
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info.String("level") == "error" {
			t.Fatalf("waiting for %s: %v", code, ev.Info)
		}
	}
}

func localViewers(s *Server, inst, name string) int {
	st, _ := s.links[0].current()
	if st == nil {
		return 0
	}
	st.streams.mu.Lock()
	defer st.streams.mu.Unlock()
	if p := st.streams.byKey[inst+"\x00"+name]; p != nil {
		return p.viewers
	}
	return 0
}

func TestAppDisconnectThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"who": whoApp})
	e := startEdge(t, "", o)
	c := dial(t, e.url("who"), rtmpclient.Options{})
	if _, err := c.Call(ctx5(t), "bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-ctx5(t).Done():
		t.Fatal("application.disconnect did not close the client behind the edge")
	}
}

func TestPublishThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": `
application.onPublish = function (client, stream) {
	if (stream.name === "forbidden") return false;
	return true;
};`})
	e := startEdge(t, "", o)
	pub := dial(t, e.url("live"), rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "forbidden", "live"); err == nil {
		t.Fatal("the app's refusal did not reach the edge publisher")
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "live"); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteData(sid, "@setDataFrame", "onMetaData", &amf.Object{Props: []amf.Prop{{Key: "width", Value: 320.0}}}); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}); err != nil {
		t.Fatal(err)
	}
	// One viewer on the origin directly, one through the edge (pulled back over the trunk).
	direct := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	viaEdge := dial(t, e.url("live"), rtmpclient.Options{})
	for _, c := range []*rtmpclient.Client{direct, viaEdge} {
		id, err := c.CreateStream(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Play(id, "cam", -1); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "NetStream.Play.Start")
	}
	waitFor(t, "edge viewer attached", func() bool { return localViewers(e.srv, "live/_definst_", "cam") == 1 })
	// One GOP: a keyframe, then inter frames. A viewer whose subscription lands after some of
	// them (the edge's pull is set up after its local viewer attaches) still gets them all from
	// the GOP cache; were every frame a keyframe, the cache would hold only the last one.
	for ts := uint32(40); ts <= 200; ts += 40 {
		frameType := byte(0x27)
		if ts == 40 {
			frameType = 0x17
		}
		if err := pub.WriteMedia(sid, 9, ts, []byte{frameType, 1, 0, 0, 0, byte(ts)}); err != nil {
			t.Fatal(err)
		}
		if ts == 80 { // metadata again once the viewers surely have their first keyframe
			if err := pub.WriteData(sid, "@setDataFrame", "onMetaData", &amf.Object{Props: []amf.Prop{{Key: "width", Value: 640.0}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, c := range map[string]*rtmpclient.Client{"direct": direct, "edge": viaEdge} {
		frames, meta := 0, false
		for frames < 5 || !meta {
			ev, err := c.NextEvent(ctx5(t))
			if err != nil {
				t.Fatalf("%s viewer after %d frames (metadata %v): %v", name, frames, meta, err)
			}
			if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && len(ev.Payload) == 6 && ev.Payload[1] == 1 {
				frames++
			}
			if ev.Kind == rtmpclient.EventData && ev.Name == "onMetaData" {
				meta = true
			}
		}
	}
	pub.Close()
	waitStatus(t, direct, "NetStream.Play.UnpublishNotify")
}

func TestPulledStreamEndedByOrigin(t *testing.T) {
	t.Parallel()
	st := &trunkState{streams: newStreams(), log: zerolog.Nop()}
	hub := live.NewHub(live.Config{}, zerolog.Nop())
	defer hub.Close()
	p := &pulled{key: "a/_definst_\x00cam", ch: 9, hub: hub}
	pub, err := hub.Publish("cam", p)
	if err != nil {
		t.Fatal(err)
	}
	p.pub, p.viewers = pub, 1
	st.streams.byKey[p.key], st.streams.byChan[p.ch] = p, p
	body := trunk.StreamStatus{Code: trunk.StreamEnded, Description: "cut off"}.AppendBody(nil)
	st.onStreamFrame(trunk.Frame{Kind: trunk.KindStreamStatus, ID: 9, Body: body})
	if len(st.streams.byKey) != 0 || len(st.streams.byChan) != 0 {
		t.Fatal("an ended channel stays registered: the next play would not subscribe again")
	}
	// Media for the forgotten channel is ignored.
	st.onStreamFrame(trunk.Frame{Kind: trunk.KindStreamMedia, ID: 9, Body: trunk.StreamMedia{Type: 9, Payload: []byte{0x17, 1}}.AppendBody(nil)})
}
