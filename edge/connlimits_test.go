package edge

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestEdgeConnectionLimits: the edge's [limits] apply to its RTMP listener: past
// max_connections_per_address one address is refused at accept while another connects and calls,
// and /metrics counts the refusal.
func TestEdgeConnectionLimits(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdgeWith(t, func(c *Config) { c.Limits.MaxConnectionsPerAddress = 1 }, o)
	from := func(ip string) rtmpclient.Options {
		return rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	}
	first := dial(t, e.url("live"), from("127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := rtmpclient.Dial(ctx, e.url("live"), from("127.0.0.1")); err == nil {
		c.Close()
		t.Fatal("a second connection from 127.0.0.1 was served")
	}
	other := dial(t, e.url("live"), from("127.0.0.2"))
	for _, c := range []*rtmpclient.Client{first, other} {
		if _, err := c.Call(ctx, "_checkbw"); err != nil {
			t.Fatal(err)
		}
	}
	var text strings.Builder
	admin.WriteText(&text, e.srv.Metrics())
	if want := `fmsgo_connections_refused_total{listener="rtmp",reason="per_address"} 1`; !strings.Contains(text.String(), want) {
		t.Fatalf("metrics lack %q", want)
	}
}
