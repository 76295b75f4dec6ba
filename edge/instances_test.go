package edge

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

// TestInstanceLimitsThroughEdge: the origin's instance cap and per-address creation rate refuse
// an edge client with the origin's Connect.Rejected and its description; the rate is counted for
// the client's own address (127.0.0.2 is not held back by 127.0.0.1), not for the edge's.
func TestInstanceLimitsThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, map[string]string{"live": `application.onConnect = function () { return true; };`,
		"capped": `application.onConnect = function () { return true; };`},
		func(c *origin.Config) {
			c.Limits.MaxInstancesPerApp = 3
			c.Limits.InstanceCreateRate, c.Limits.InstanceCreateBurst = 0.001, 4
		})
	e := startEdge(t, "", o)
	refused := func(url string, opt rtmpclient.Options, want string) {
		t.Helper()
		c, err := rtmpclient.Dial(ctx5(t), url, opt)
		if err == nil {
			c.Close()
			t.Fatalf("%s: connected through the edge, want a rejection", url)
		}
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), want) {
			t.Fatalf("%s: want Connect.Rejected containing %q, got %v", url, want, err)
		}
	}
	from := func(ip string) rtmpclient.Options {
		return rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	}
	for _, name := range []string{"capped/a", "capped/b", "capped/c"} {
		dial(t, e.url(name), from("127.0.0.1"))
	}
	refused(e.url("capped/d"), from("127.0.0.1"), "application capped runs its maximum of 3 instances")
	dial(t, e.url("live/a"), from("127.0.0.1")) // the fourth and last token of 127.0.0.1
	refused(e.url("live/b"), from("127.0.0.1"), "too many new instances from this address")
	for i := 0; i < 2; i++ { // the edge forwards 127.0.0.2 as the client's address
		dial(t, e.url(fmt.Sprintf("live/x%d", i)), from("127.0.0.2"))
	}
}
