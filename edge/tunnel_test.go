package edge

import (
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/wsconn"
)

// startTunnel is a websockify in reverse, as a socket tunnel on a client's side does it: each
// TCP connection to the returned address is carried as binary frames to url.
func startTunnel(t *testing.T, url string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			tc, err := ln.Accept()
			if err != nil {
				return
			}
			go carry(tc, url)
		}
	}()
	return ln.Addr().String()
}

func carry(tc net.Conn, url string) {
	defer tc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wsconn.TunnelSubprotocol}})
	if err != nil {
		return
	}
	wc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer wc.Close()
	go func() { _, _ = io.Copy(wc, tc); cancel() }()
	_, _ = io.Copy(tc, wc)
}

// TestRTMPOverWebSocket: raw RTMP in binary WebSocket frames (GET /rtmp on the edge's web
// listener) is an RTMP client of the edge like any other: ffmpeg publishes through a tunnel and
// ffprobe plays it from the edge; our client connects, calls and gets the app's calls through it.
func TestRTMPOverWebSocket(t *testing.T) {
	t.Parallel()
	ff, probe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	chat := repoApp(t, "chat")
	o, e := startWebEdge(t, map[string]string{"chat": chat, "live": ""}, nil)
	tunnel := startTunnel(t, "ws://"+e.srv.WebAddr().String()+"/rtmp")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	tom := dial(t, "rtmp://"+tunnel+"/chat/room", rtmpclient.Options{ConnectArgs: []any{"tom"}})
	ann := dial(t, e.url("chat/room"), rtmpclient.Options{ConnectArgs: []any{"ann"}})
	if _, err := ann.Call(ctx, "say", "hello tom"); err != nil {
		t.Fatal(err)
	}
	for {
		if args := awaitCallArgs(t, ctx, tom, "onMessage"); args[1] == "hello tom" {
			break
		}
	}
	if v, err := tom.Call(ctx, "who"); err != nil || v == nil {
		t.Fatalf("who through the tunnel: %v %v", v, err)
	}

	pub := exec.CommandContext(ctx, ff, "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-t", "30", "-f", "flv", "rtmp://"+tunnel+"/live/cam")
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	waitFor(t, "the origin to receive the tunnelled publisher's media", func() bool { return mediaBytesIn(o) > 0 })
	out, err := exec.CommandContext(ctx, probe, "-v", "error", "-rw_timeout", "8000000", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", e.url("live/cam")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264") {
		t.Fatalf("ffprobe of a stream published through the tunnel: %v\n%s", err, out)
	}
}

// TestRTMPTunnelQuietAndText: a quiet tunnelled client is pinged when its read deadline passes
// and stays connected (the deadline ends a read, not the WebSocket); a text frame on the tunnel
// closes it with 1003.
func TestRTMPTunnelQuietAndText(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"chat": repoApp(t, "chat")})
	e := startEdgeWith(t, func(c *Config) {
		c.TrunkSecret, c.Web = testSecret, "127.0.0.1:0"
		c.Limits.Conn.IdleTimeout = 400 * time.Millisecond
	}, o)
	url := "ws://" + e.srv.WebAddr().String() + "/rtmp"
	tom := dial(t, "rtmp://"+startTunnel(t, url)+"/chat/room", rtmpclient.Options{ConnectArgs: []any{"tom"}})
	ctx := ctx5(t)
	// The condition under test is time passing with nothing sent: 2.5 idle timeouts, in which
	// the edge's read deadline passes and it pings (our client answers pings itself).
	time.Sleep(time.Second)
	if _, err := tom.Call(ctx, "who"); err != nil {
		t.Fatalf("a quiet tunnelled client: %v", err)
	}

	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("a text frame: %v, want 1003", err)
	}
}
