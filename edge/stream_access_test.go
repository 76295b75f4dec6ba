package edge

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
	"github.com/fmsgo/fmsgo/origin"
)

// TestStreamAccessListsThroughEdge: an edge client's readAccess and writeAccess decide its
// plays and publishes as a direct client's do (the origin's verdict covers both paths).
func TestStreamAccessListsThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"acc": clienttest.StreamAccessApp})
	e := startEdge(t, "", o)
	clienttest.CheckStreamAccess(t, func(read, write string) *rtmpclient.Client {
		return dial(t, e.url("acc"), rtmpclient.Options{ObjectEncoding: 3, ConnectArgs: []any{read, write}})
	})
}

// TestSecretsNotLoggedAtInfoThroughEdge: a connect token and a publish key sent through an edge
// appear in no info-level line of the edge's or the origin's log.
func TestSecretsNotLoggedAtInfoThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"keyed": `
application.onConnect = function (c) { return c.query === "token=T0K3N-S3CRET"; };
application.onPublish = function (c, s) { return s.publishQueryString === "key=K3Y-S3CRET"; };`})
	e := startEdge(t, "", o)
	c := dial(t, e.url("keyed?token=T0K3N-S3CRET"), rtmpclient.Options{})
	if code, _ := clienttest.PublishCode(t, c, "cam?key=K3Y-S3CRET"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish with the right key through the edge: %s", code)
	}
	c.Close()
	waitFor(t, "the origin to see the edge client go", func() bool { return strings.Contains(o.logs.String(), `"message":"unpublish"`) })
	for name, logs := range map[string]string{"edge": e.logs.String(), "origin": o.logs.String()} {
		for _, line := range strings.Split(logs, "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["level"] == "debug" || rec["level"] == "trace" {
				continue
			}
			if strings.Contains(line, "S3CRET") {
				t.Errorf("a secret is in the %s log at %v: %s", name, rec["level"], line)
			}
		}
	}
}

// TestTakeoverOnlyForSameIdentityThroughEdge: the takeover rule holds for edge publishers, whose
// identity is the address and queries the edge reports for them.
func TestTakeoverOnlyForSameIdentityThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, map[string]string{"tk": clienttest.TakeoverApp}, func(c *origin.Config) { c.Limits.Live.TakeoverIdle = 300 * time.Millisecond })
	e := startEdge(t, "", o)
	clienttest.CheckTakeover(t, func(local, path string) *rtmpclient.Client {
		return dial(t, e.url(path), rtmpclient.Options{ObjectEncoding: 3, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}})
	})
}
