package origin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/fmsgo/fmsgo/origin/session"
)

// awaitRTMPCall waits for the server's call of method on an RTMP client and returns its args.
func awaitRTMPCall(t *testing.T, ctx context.Context, c *rtmpclient.Client, method string) []any {
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

// TestWebSocketChat: two WebSocket clients and one RTMP client in apps/chat; what each says
// reaches the other two (and itself), through Client.prototype.say and broadcastMsg.
func TestWebSocketChat(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, nil, "other")
	copyRepoApp(t, o, "chat")
	ctx := ctx5(t)
	ann := connectWS(t, o, "chat/room", "ann")
	bob := connectWS(t, o, "chat/room", "bob")
	carol := dial(t, o.url("chat/room"), rtmpclient.Options{ConnectArgs: []any{"carol"}})
	ann.AwaitCall(ctx, "onJoin")

	if m := ann.Call(ctx, 1, "who"); m.Type != wsmsg.TypeResult || len(m.Value.(*amf.Array).Dense) != 3 {
		t.Fatalf("who: %s", show(m))
	}
	says := []struct {
		nick string
		say  func(text string)
	}{
		{"ann", func(text string) { ann.Send(wsmsg.Message{Type: wsmsg.TypeCall, Method: "say", Args: []any{text}}) }},
		{"bob", func(text string) {
			bob.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: 7, Method: "say", Args: []any{text}})
		}},
		{"carol", func(text string) {
			if v, err := carol.Call(ctx, "say", text); err != nil || v != true {
				t.Errorf("say: %v %v", v, err)
			}
		}},
	}
	for _, s := range says {
		text := "hello from " + s.nick + " ✓"
		s.say(text)
		for _, p := range []*wsPeer{ann, bob} {
			m := p.AwaitCall(ctx, "onMessage")
			if len(m.Args) != 2 || m.Args[0] != s.nick || m.Args[1] != text {
				t.Fatalf("%s heard %s", s.nick, show(m))
			}
		}
		if args := awaitRTMPCall(t, ctx, carol, "onMessage"); len(args) != 2 || args[0] != s.nick || args[1] != text {
			t.Fatalf("carol heard %v", args)
		}
		if s.nick == "bob" { // the answer to his call comes after the broadcast
			if m := bob.Await(ctx, "result", func(m wsmsg.Message) bool { return m.ID == 7 }); m.Type != wsmsg.TypeResult || m.Value != true {
				t.Errorf("say: %s", show(m))
			}
		}
	}

	// A browser leaving is an ordinary departure.
	_ = bob.C.Close(websocket.StatusNormalClosure, "")
	if m := ann.AwaitCall(ctx, "onLeave"); m.Args[0] != "bob" {
		t.Fatalf("onLeave: %s", show(m))
	}
	if args := awaitRTMPCall(t, ctx, carol, "onLeave"); args[0] != "bob" {
		t.Fatalf("carol: onLeave %v", args)
	}
}

// TestWebSocketConnectRejected: a refused connect shows the app's reason, then the server
// closes; an unknown app gets FMS's text.
func TestWebSocketConnectRejected(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, nil, "other")
	copyRepoApp(t, o, "chat")
	ctx := ctx5(t)
	connectWS(t, o, "chat/room", "ann")
	for _, tc := range []struct {
		path string
		args []any
		code string
		text string
	}{
		{"chat/room", nil, "NetConnection.Connect.Rejected", "choose a nickname of 1 to 32 characters"},
		{"chat/room", []any{"ann"}, "NetConnection.Connect.Rejected", "the nickname ann is taken"},
		{"nosuchapp", nil, "NetConnection.Connect.Rejected", "Application (nosuchapp) is not defined."},
		{"chat/a%20b", nil, "NetConnection.Connect.InvalidApp", "Invalid application name"},
	} {
		p := dialWS(t, o.wsURL(tc.path), nil)
		p.Send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: tc.args})
		m := p.Next(ctx)
		app, _ := m.Info.(*amf.Object)
		var reason string
		if app != nil {
			if a, ok := app.Get("application"); ok {
				reason = infoString(a, "message")
			}
		}
		if m.Type != wsmsg.TypeRejected || infoString(m.Info, "code") != tc.code ||
			!strings.Contains(reason+infoString(m.Info, "description"), tc.text) {
			t.Errorf("%s %v: %s", tc.path, tc.args, show(m))
		}
		if err := p.Closed(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Errorf("%s: closed with %v, want a normal close", tc.path, err)
		}
	}
}

// TestWebSocketServerCall: the app's client.call reaches a browser, whose result (or error)
// reaches the app's responder; the client's Client fields are the upgrade request's.
func TestWebSocketServerCall(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, nil, "calls")
	o.writeApp(t, "calls", `
application.onConnect = function (client) {
	client.details = [client.protocol, client.ip, client.agent, client.pageUrl, client.referrer, client.query, client.uri].join("|");
	return true;
};
Client.prototype.ask = function (q) {
	var self = this;
	return new Promise(function (resolve) {
		self.call("answer", { onResult: function (v) { resolve("ok:" + JSON.stringify(v)); },
			onStatus: function (info) { resolve("failed:" + info.code + ":" + info.description); } }, q);
	});
};
Client.prototype.info = function () { return this.details; };
Client.prototype.publish = function () { return "never called"; };
`)
	ctx := ctx5(t)
	h := http.Header{"User-Agent": {"test-agent/1"}, "Referer": {"http://page.example/app.html"}}
	p := dialWS(t, o.wsURL("calls/i1?token=abc"), h)
	p.Send(wsmsg.Message{Type: wsmsg.TypeConnect})
	if m := p.Next(ctx); m.Type != wsmsg.TypeConnected || infoString(m.Info, "code") != "NetConnection.Connect.Success" {
		t.Fatalf("connect: %s", show(m))
	}
	wantInfo := "ws|127.0.0.1|test-agent/1||http://page.example/app.html|token=abc|ws://" + o.srv.WebAddr().String() + "/fms/calls/i1?token=abc"
	if m := p.Call(ctx, 1, "info"); m.Value != wantInfo {
		t.Errorf("info = %s, want %q", show(m), wantInfo)
	}

	p.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: 2, Method: "ask", Args: []any{"q1"}})
	call := p.AwaitCall(ctx, "answer")
	if call.ID <= 0 || len(call.Args) != 1 || call.Args[0] != "q1" {
		t.Fatalf("server call: %s", show(call))
	}
	p.Send(wsmsg.Message{Type: wsmsg.TypeResult, ID: call.ID, Value: &amf.Object{Props: []amf.Prop{{Key: "n", Value: 42.0}}}})
	if m := p.Await(ctx, "result 2", func(m wsmsg.Message) bool { return m.ID == 2 }); m.Value != `ok:{"n":42}` {
		t.Errorf("ask answered: %s", show(m))
	}

	p.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: 3, Method: "ask", Args: []any{"q2"}})
	call = p.AwaitCall(ctx, "answer")
	p.Send(wsmsg.Message{Type: wsmsg.TypeError, ID: call.ID, Info: &amf.Object{Props: []amf.Prop{
		{Key: "level", Value: "error"}, {Key: "code", Value: "App.Nope"}, {Key: "description", Value: "no"}}}})
	if m := p.Await(ctx, "result 3", func(m wsmsg.Message) bool { return m.ID == 3 }); m.Value != "failed:App.Nope:no" {
		t.Errorf("ask failed: %s", show(m))
	}

	// Publish and play are refused with a clear status, never handed to the app.
	for id, method := range map[float64]string{4: "publish", 5: "play", 6: "createStream"} {
		m := p.Call(ctx, id, method, "x")
		if m.Type != wsmsg.TypeError || infoString(m.Info, "code") != "NetConnection.Call.Failed" ||
			!strings.Contains(infoString(m.Info, "description"), "need RTMP") {
			t.Errorf("%s: %s", method, show(m))
		}
	}
	if m := p.Call(ctx, 8, "nosuchmethod"); m.Type != wsmsg.TypeError || infoString(m.Info, "code") != "NetConnection.Call.Failed" {
		t.Errorf("missing method: %s", show(m))
	}
	p.Send(wsmsg.Message{Type: wsmsg.TypePing, ID: 9})
	if m := p.Await(ctx, "pong", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypePong }); m.ID != 9 {
		t.Errorf("pong: %s", show(m))
	}
}

// TestStreamCommandsMatchTheSession: the edge refuses a browser's stream commands with
// wsmsg.IsStreamCommand (it cannot ask the session); the names are the ones the session answers.
func TestStreamCommandsMatchTheSession(t *testing.T) {
	for _, name := range []string{"createStream", "deleteStream", "closeStream", "releaseStream", "FCPublish",
		"FCUnpublish", "FCSubscribe", "FCUnsubscribe", "_checkbw", "getStreamLength", "publish", "play", "play2",
		"pause", "pauseRaw", "seek", "receiveAudio", "receiveVideo", "_result", "_error", "say", "connect", "onStatus"} {
		if session.IsNetCommand(name) != wsmsg.IsStreamCommand(name) {
			t.Errorf("%s: the session answers it %v, wsmsg refuses it %v", name, session.IsNetCommand(name), wsmsg.IsStreamCommand(name))
		}
	}
}
