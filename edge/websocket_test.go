package edge

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/fmsgo/fmsgo/core/wsmsg/wsmsgtest"
	"github.com/fmsgo/fmsgo/origin"
)

// repoApp is the main.js of the repository's apps/NAME.
func repoApp(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "apps", name, "main.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startWebEdge runs an origin serving apps and an edge with -web in front of it.
func startWebEdge(t *testing.T, apps map[string]string, set func(*origin.Config)) (*testOrigin, *testEdge) {
	t.Helper()
	o := startOriginWith(t, apps, func(c *origin.Config) {
		c.TrunkSecret = testSecret
		if set != nil {
			set(c)
		}
	})
	e := startEdgeWith(t, func(c *Config) { c.TrunkSecret, c.Web = testSecret, "127.0.0.1:0" }, o)
	return o, e
}

func (e *testEdge) wsURL(path string) string {
	return "ws://" + e.srv.WebAddr().String() + "/fms/" + path
}

// awaitCall waits for the server's call of method on an RTMP client and returns its args.
func awaitCallArgs(t *testing.T, ctx context.Context, c *rtmpclient.Client, method string) []any {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", method, err)
		}
		if ev.Kind == rtmpclient.EventCommand && ev.Name == method {
			return ev.Args
		}
	}
}

// TestWebSocketThroughEdge: a browser on the edge is a client of the origin's app like an RTMP
// client on the edge: in apps/chat its messages reach an RTMP client on the edge and one on the
// origin and theirs reach it; the app's client.call is answered; a refused connect shows the
// app's reason; stream commands are refused; the app sees protocol ws and the edge.
func TestWebSocketThroughEdge(t *testing.T) {
	t.Parallel()
	chat := repoApp(t, "chat") + `
Client.prototype.whoami = function () { return this.protocol + "|" + (this.edge && this.edge.id); };
Client.prototype.ask = function () {
	var self = this;
	return new Promise(function (resolve) { self.call("name", { onResult: resolve }); });
};`
	o, e := startWebEdge(t, map[string]string{"chat": chat}, nil)
	ctx := ctx5(t)
	ann := wsmsgtest.Connect(t, e.wsURL("chat/room"), "ann")
	bob := dial(t, e.url("chat/room"), rtmpclient.Options{ConnectArgs: []any{"bob"}})
	carol := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/chat/room", rtmpclient.Options{ConnectArgs: []any{"carol"}})
	ann.AwaitCall(ctx, "onJoin")

	if m := ann.Call(ctx, 1, "whoami"); m.Value != "ws|edge-test" {
		t.Fatalf("whoami: %s", wsmsgtest.Show(m))
	}
	ann.Send(wsmsg.Message{Type: wsmsg.TypeCall, Method: "say", Args: []any{"from ann"}})
	for _, c := range []*rtmpclient.Client{bob, carol} {
		if args := awaitCallArgs(t, ctx, c, "onMessage"); args[0] != "ann" || args[1] != "from ann" {
			t.Fatalf("heard %v", args)
		}
	}
	for _, c := range []*rtmpclient.Client{bob, carol} {
		if _, err := c.Call(ctx, "say", "to ann"); err != nil {
			t.Fatal(err)
		}
		ann.Await(ctx, "onMessage to ann", func(m wsmsg.Message) bool {
			return m.Type == wsmsg.TypeCall && m.Method == "onMessage" && len(m.Args) == 2 && m.Args[1] == "to ann"
		})
	}

	ann.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: 2, Method: "ask"})
	call := ann.AwaitCall(ctx, "name")
	ann.Send(wsmsg.Message{Type: wsmsg.TypeResult, ID: call.ID, Value: "Ann"})
	if m := ann.Await(ctx, "result 2", func(m wsmsg.Message) bool { return m.ID == 2 }); m.Value != "Ann" {
		t.Fatalf("ask: %s", wsmsgtest.Show(m))
	}
	if m := ann.Call(ctx, 3, "play", "x"); m.Type != wsmsg.TypeError || !strings.Contains(wsmsgtest.Info(m.Info, "description"), "need RTMP") {
		t.Fatalf("play: %s", wsmsgtest.Show(m))
	}

	taken := wsmsgtest.Dial(t, e.wsURL("chat/room"), nil)
	taken.Send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: []any{"bob"}})
	m := taken.Next(ctx)
	app, _ := m.Info.(*amf.Object).Get("application")
	if m.Type != wsmsg.TypeRejected || wsmsgtest.Info(app, "message") != "the nickname bob is taken" {
		t.Fatalf("taken nickname: %s", wsmsgtest.Show(m))
	}
	if err := taken.Closed(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the rejection: %v", err)
	}

	bad := wsmsgtest.Connect(t, e.wsURL("chat/room"), "dave")
	bad.SendRaw([]byte(`{"type":"call",`))
	if err := bad.Closed(ctx); websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("invalid JSON: %v", err)
	}
	if _, err := carol.Call(ctx, "who"); err != nil {
		t.Fatal(err)
	}
	_ = ann.C.Close(websocket.StatusNormalClosure, "")
	if args := awaitCallArgs(t, ctx, carol, "onLeave"); args[0] != "ann" && args[0] != "dave" {
		t.Fatalf("onLeave %v", args)
	}
}

// TestWebSocketWhiteboardThroughEdge: a browser on the edge and an RTMP client on the origin
// share apps/whiteboard's board: a stroke from each reaches the other's copy.
func TestWebSocketWhiteboardThroughEdge(t *testing.T) {
	t.Parallel()
	o, e := startWebEdge(t, map[string]string{"whiteboard": repoApp(t, "whiteboard")}, nil)
	ctx := ctx5(t)
	wes := wsmsgtest.Connect(t, e.wsURL("whiteboard/r"), "wes")
	ann := dialSO(t, "rtmp://"+o.srv.RTMPAddr().String()+"/whiteboard/r", "ann", false)
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "board", Persistent: true})
	sync := func() wsmsg.Message {
		return wes.Await(ctx, "so.sync", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOSync })
	}
	sync()
	ann.use(ctx, "board", true)

	stroke := &amf.Object{Props: []amf.Prop{{Key: "color", Value: "#f00"}, {Key: "points", Value: &amf.Array{Dense: []any{1.0, 2.0}}}}}
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOSend, Name: "board", Method: "addStroke", Args: []any{stroke}})
	ann.next(ctx) // the addStroke echo
	if m := ann.next(ctx); len(m.events) != 2 || m.events[0].Type != sharedobject.EventChange {
		t.Fatalf("ann: %+v, want s1 and last", m)
	}
	if m := sync(); len(m.Changes) != 2 || m.Changes[0].Code != wsmsg.CodeChange {
		t.Fatalf("wes: %s", wsmsgtest.Show(m))
	}

	ann.send("board", true, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "addStroke", Args: []any{stroke}})
	m := sync()
	for _, c := range m.Changes {
		if c.Name == "last" && c.Value == 2.0 {
			return
		}
	}
	t.Fatalf("wes: %s, want last = 2", wsmsgtest.Show(m))
}
