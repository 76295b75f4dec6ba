package edge

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

// TestJSHooksApplyThroughTheEdge: an origin's JavaScript hooks (docs/hooks.md) decide about an
// edge's clients as about its own, and see the edge they came through.
func TestJSHooksApplyThroughTheEdge(t *testing.T) {
	t.Parallel()
	hooks := t.TempDir()
	policy := filepath.Join(hooks, "policy", "main.js")
	if err := os.MkdirAll(filepath.Dir(policy), 0o755); err != nil {
		t.Fatal(err)
	}
	code := `server.onConnect = function (req) {
  if (req.query.who) return {reject: "edge=" + req.edge + " ip=" + req.ip};
};
server.onPublish = function (req) {
  if (req.stream === "blocked") return {reject: "blocked via " + req.edge};
};`
	if err := os.WriteFile(policy, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) {
		c.TrunkSecret, c.Hooks = testSecret, hooks
	})
	e := startEdge(t, testSecret, o)

	_, err := rtmpclient.Dial(ctx5(t), e.url("live?who=1"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || se.Info.String("description") != "edge=edge-test ip=127.0.0.1" {
		t.Fatalf("connect through the edge: %v", err)
	}
	c := dial(t, e.url("live"), rtmpclient.Options{})
	for name, want := range map[string]string{"blocked": "NetStream.Publish.BadName", "open": "NetStream.Publish.Start"} {
		sid, err := c.CreateStream(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Publish(ctx5(t), sid, name, "live")
		if err != nil && !errors.As(err, &se) {
			t.Fatal(err)
		}
		if info.String("code") != want {
			t.Fatalf("publish %s through the edge: %s %q", name, info.String("code"), info.String("description"))
		}
		if name == "blocked" && info.String("description") != "blocked via edge-test" {
			t.Fatalf("refusal reason: %q", info.String("description"))
		}
	}
}
