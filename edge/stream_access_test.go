package edge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestStreamAccessListsThroughEdge: an edge client's readAccess and writeAccess decide its
// plays and publishes as a direct client's do (the origin's verdict covers both paths).
func TestStreamAccessListsThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"acc": `
application.onConnect = function (c, read, write) {
  if (read !== undefined) c.readAccess = read;
  if (write !== undefined) c.writeAccess = write;
  return true;
};`})
	e := startEdge(t, "", o)
	checkStreamAccess(t, func(read, write string) *rtmpclient.Client {
		return dial(t, e.url("acc"), rtmpclient.Options{ObjectEncoding: 3, ConnectArgs: []any{read, write}})
	})
}

// publishCode publishes name on a new stream and returns the verdict's status code.
func publishCode(t *testing.T, c *rtmpclient.Client, name string) (code, desc string) {
	t.Helper()
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Publish(ctx5(t), sid, name, "live")
	var se *rtmpclient.StatusError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("publish %s: %v", name, err)
	}
	return info.String("code"), info.String("description")
}

// playCode plays name on a new stream and returns the first Play.Start or error status.
func playCode(t *testing.T, c *rtmpclient.Client, name string) (code, desc string) {
	t.Helper()
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(sid, name, -1); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("play %s: %v", name, err)
		}
		if ev.Kind != rtmpclient.EventStatus || ev.StreamID != sid || ev.Info == nil {
			continue
		}
		if c := ev.Info.String("code"); c == "NetStream.Play.Start" || ev.Info.String("level") == "error" {
			return c, ev.Info.String("description")
		}
	}
}

// checkStreamAccess runs the access cases against url (direct or through an edge): dialAs
// connects a client with the given readAccess and writeAccess.
func checkStreamAccess(t *testing.T, dialAs func(read, write string) *rtmpclient.Client) {
	none := dialAs("/", "")
	if code, desc := publishCode(t, none, "cam"); code != "NetStream.Publish.BadName" || !strings.Contains(desc, "writeAccess") {
		t.Errorf("publish with writeAccess \"\": %s %q, want NetStream.Publish.BadName naming writeAccess", code, desc)
	}
	pub := dialAs("/", "/")
	if code, _ := publishCode(t, pub, "cam"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish with writeAccess \"/\": %s", code)
	}
	if code, _ := publishCode(t, pub, "public/x"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish public/x: %s", code)
	}
	blind := dialAs("", "/")
	if code, desc := playCode(t, blind, "cam"); code != "NetStream.Play.Failed" || !strings.Contains(desc, "readAccess") {
		t.Errorf("play with readAccess \"\": %s %q, want NetStream.Play.Failed naming readAccess", code, desc)
	}
	public := dialAs("/public", "/public;/chat")
	if code, _ := publishCode(t, public, "public/y"); code != "NetStream.Publish.Start" {
		t.Errorf("publish public/y with writeAccess /public;/chat: %s", code)
	}
	if code, _ := publishCode(t, public, "private/y"); code != "NetStream.Publish.BadName" {
		t.Errorf("publish private/y with writeAccess /public;/chat: %s", code)
	}
	if code, _ := publishCode(t, public, "publicity"); code != "NetStream.Publish.BadName" {
		t.Errorf("publish publicity (a prefix of a segment only): %s", code)
	}
	if code, _ := playCode(t, public, "public/x"); code != "NetStream.Play.Start" {
		t.Errorf("play public/x with readAccess /public: %s", code)
	}
	if code, _ := playCode(t, public, "private/x"); code != "NetStream.Play.Failed" {
		t.Errorf("play private/x with readAccess /public: %s", code)
	}
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
	if code, _ := publishCode(t, c, "cam?key=K3Y-S3CRET"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish with the right key through the edge: %s", code)
	}
	c.Close()
	waitFor(t, "the origin to see the edge client go", func() bool { return strings.Contains(o.logs.String(), "instance unloaded") })
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
