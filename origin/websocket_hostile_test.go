package origin

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

// assertAlive fails unless the browser and the RTMP client still get answers.
func assertAlive(t *testing.T, ctx context.Context, ws *wsPeer, rtmp *rtmpclient.Client) {
	t.Helper()
	if m := ws.Call(ctx, 99, "who"); m.Type != wsmsg.TypeResult {
		t.Fatalf("bystander browser: %s", show(m))
	}
	if _, err := rtmp.Call(ctx, "who"); err != nil {
		t.Fatalf("bystander RTMP client: %v", err)
	}
}

// TestWebSocketHostileInput: each kind of bad input closes that client only, with its close
// code; a browser and an RTMP client in the same instance go on.
func TestWebSocketHostileInput(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, nil, "other")
	copyRepoApp(t, o, "chat")
	ctx := ctx5(t)
	ann := connectWS(t, o, "chat/room", "ann")
	carol := dial(t, o.url("chat/room"), rtmpclient.Options{ConnectArgs: []any{"carol"}})
	deep := `{"type":"call","method":"say","args":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`
	for i, tc := range []struct {
		name      string
		connected bool // connect first
		send      func(p *wsPeer)
		code      websocket.StatusCode
	}{
		{"oversized", true, func(p *wsPeer) {
			p.SendRaw([]byte(`{"type":"call","method":"say","args":["` + strings.Repeat("x", 300<<10) + `"]}`))
		}, websocket.StatusMessageTooBig},
		{"invalid-json", true, func(p *wsPeer) { p.SendRaw([]byte(`{"type":"call",`)) }, websocket.StatusInvalidFramePayloadData},
		{"deep-nesting", true, func(p *wsPeer) { p.SendRaw([]byte(deep)) }, websocket.StatusInvalidFramePayloadData},
		{"unknown-type", true, func(p *wsPeer) { p.SendRaw([]byte(`{"type":"publish","name":"x"}`)) }, websocket.StatusInvalidFramePayloadData},
		{"binary", true, func(p *wsPeer) { _ = p.C.Write(ctx, websocket.MessageBinary, []byte{3, 0, 0}) }, websocket.StatusUnsupportedData},
		{"before-connect", false, func(p *wsPeer) { p.Send(wsmsg.Message{Type: wsmsg.TypeCall, Method: "who"}) }, websocket.StatusPolicyViolation},
		{"second-connect", true, func(p *wsPeer) { p.Send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: []any{"again"}}) }, websocket.StatusPolicyViolation},
		{"flood", true, func(p *wsPeer) {
			go func() { // the server stops reading after the burst: the writes may fail then
				for i := 0; i < 2000; i++ {
					if p.C.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":1}`)) != nil {
						return
					}
				}
			}()
		}, websocket.StatusPolicyViolation},
	} {
		p := dialWS(t, o.wsURL("chat/room"), nil)
		if tc.connected {
			p.Send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: []any{"h" + string(rune('a'+i))}})
			if m := p.Next(ctx); m.Type != wsmsg.TypeConnected {
				t.Fatalf("%s: connect: %s", tc.name, show(m))
			}
		}
		tc.send(p)
		if err := p.Closed(ctx); websocket.CloseStatus(err) != tc.code {
			t.Errorf("%s: closed with %v, want %d", tc.name, err, tc.code)
		}
		assertAlive(t, ctx, ann, carol)
	}
}

// TestWebSocketConnectTimeout: a client that upgrades and never connects is closed.
func TestWebSocketConnectTimeout(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, func(c *Config) { c.Limits.WebConnectTimeout = 200 * time.Millisecond }, "live")
	p := dialWS(t, o.wsURL("live"), nil)
	err := p.Closed(ctx5(t))
	var ce websocket.CloseError
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !asCloseError(err, &ce) || !strings.Contains(ce.Reason, "no connect in time") {
		t.Fatalf("closed with %v, want 1008 no connect in time", err)
	}
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	if e, ok := err.(websocket.CloseError); ok {
		*ce = e
		return true
	}
	for u, ok := err.(interface{ Unwrap() error }); ok; u, ok = err.(interface{ Unwrap() error }) {
		err = u.Unwrap()
		if e, ok := err.(websocket.CloseError); ok {
			*ce = e
			return true
		}
	}
	return false
}

// spamApp sets a 64 KiB slot of "big" n times from the server, one update each.
const spamApp = `
application.onConnect = function (c) { return true; };
application.onAppStart = function () { big = SharedObject.get("big"); };
Client.prototype.spam = function (n) {
	var s = new Array(65537).join("x");
	for (var i = 0; i < n; i++) { big.setProperty("k" + (i % 8), s + i); }
	return n;
};
Client.prototype.hello = function () { return "hi"; };
`

// TestWebSocketNeverReads: a browser that uses a shared object and stops reading while up to
// 40 MiB of updates go out is cut off once its queue holds web_queue_bytes; the server keeps none of
// it, and the instance's other clients go on. Not parallel: it measures the heap.
func TestWebSocketNeverReads(t *testing.T) {
	o := startWebOrigin(t, func(c *Config) { c.Limits.WebQueueBytes = 1 << 20 }, "spam")
	o.writeApp(t, "spam", spamApp)
	ctx := ctx5(t)
	bystander := connectWS(t, o, "spam")
	rtmp := dial(t, o.url("spam"), rtmpclient.Options{})

	slow, _, err := websocket.Dial(ctx, o.wsURL("spam"), &websocket.DialOptions{Subprotocols: []string{wsmsg.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	for _, m := range []wsmsg.Message{{Type: wsmsg.TypeConnect}, {Type: wsmsg.TypeSOUse, Name: "big"}} {
		b, _ := wsmsg.Append(nil, &m)
		if err := slow.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		if _, _, err := slow.Read(ctx); err != nil { // connected, then the first so.sync
			t.Fatal(err)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Up to 640 updates of 64 KiB, 40 MiB, far more than the socket buffers hold, in calls of
	// 40 (each well within the app's handler timeout on a loaded machine), until it is cut off.
	cut := func() bool { return strings.Contains(o.logs.String(), "client too slow: outbound queue full") }
	for i := 0; i < 16 && !cut(); i++ {
		if n, err := rtmp.Call(ctx, "spam", 40.0); err != nil || n != 40.0 {
			t.Fatalf("spam: %v %v", n, err)
		}
	}
	waitFor(t, 10*time.Second, "the slow client cut off", cut)
	if m := bystander.Call(ctx, 1, "hello"); m.Value != "hi" {
		t.Fatalf("bystander: %s", show(m))
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 16<<20 {
		t.Errorf("heap in use grew by %d MiB for a client that never reads", grown>>20)
	}
}
