package edge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

// TestConnectPendingWhenInstanceStops (issue 10 item 3): a connect the app leaves pending while
// its instance shuts down (here its app folder is removed) is answered, directly and through an
// edge, with a connect rejection naming the reason — the answer the client's connect waits for
// — instead of an onStatus and a closed connection, or a wait.
func TestConnectPendingWhenInstanceStops(t *testing.T) {
	t.Parallel()
	var appsDir string
	o := startOriginWith(t, map[string]string{"hold": `
application.onConnect = function (client) { trace("pending " + client.id); return null; };
`}, func(c *origin.Config) { appsDir = c.Apps })
	e := startEdge(t, "", o)
	urls := map[string]string{"direct": "rtmp://" + o.srv.RTMPAddr().String() + "/hold", "edge": e.url("hold")}
	errs := make(chan error, len(urls))
	for _, url := range urls {
		go func() {
			c, err := rtmpclient.Dial(ctx5(t), url, rtmpclient.Options{})
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	waitFor(t, "both connects pending", func() bool { return strings.Count(o.logs.String(), "pending ") == 2 })
	if err := os.RemoveAll(filepath.Join(appsDir, "hold")); err != nil {
		t.Fatal(err)
	}
	for range urls {
		select {
		case err := <-errs:
			var se *rtmpclient.StatusError
			if !errors.As(err, &se) || se.Info.String("code") != "NetConnection.Connect.Rejected" || !strings.Contains(se.Info.String("description"), "removed") {
				t.Fatalf("connect answered %v, want NetConnection.Connect.Rejected naming the removal", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a pending connect was not answered when its instance stopped")
		}
	}
}
