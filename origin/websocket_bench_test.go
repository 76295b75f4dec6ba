package origin

import (
	"context"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

const echoApp = `Client.prototype.echo = function (v) { return v; };`

// BenchmarkCallRoundTrip: one client's sequential calls of an echo method, over RTMP and over
// WebSocket (fmsgo.v1), side by side: the cost of the JSON framing against AMF.
func BenchmarkCallRoundTrip(b *testing.B) {
	o := startWebOrigin(b, func(c *Config) { c.Limits.WebMessageRate = -1 }, "echo")
	o.writeApp(b, "echo", echoApp)
	ctx := context.Background()
	b.Run("rtmp", func(b *testing.B) {
		c := dial(b, o.url("echo"), rtmpclient.Options{ObjectEncoding: 3})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Call(ctx, "echo", 1.0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("websocket", func(b *testing.B) {
		p := connectWS(b, o, "echo")
		b.ReportAllocs()
		id := 0.0
		for b.Loop() {
			id++
			p.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: id, Method: "echo", Args: []any{1.0}})
			if m := p.Next(ctx); m.ID != id {
				b.Fatalf("answer %s", show(m))
			}
		}
	})
}
