package origin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// streamAccessApp sets the client's access lists from its connect arguments (read, write).
const streamAccessApp = `
application.onConnect = function (c, read, write) {
  if (read !== undefined) c.readAccess = read;
  if (write !== undefined) c.writeAccess = write;
  return true;
};`

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

// TestStreamAccessLists: readAccess and writeAccess decide play and publish with FMS's
// path-prefix rules, before onPlay / onPublish, with NetStream.Play.Failed and
// NetStream.Publish.BadName naming the list.
func TestStreamAccessLists(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "acc")
	o.writeApp(t, "acc", streamAccessApp)
	checkStreamAccess(t, func(read, write string) *rtmpclient.Client {
		return dial(t, o.url("acc"), rtmpclient.Options{ConnectArgs: []any{read, write}})
	})
}

// TestPublishQueryNotLoggedAtInfo: a stream key in the publish query reaches the app but not the
// info-level log (its name does, with the value hidden); debug may show it.
func TestPublishQueryNotLoggedAtInfo(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "keyed")
	o.writeApp(t, "keyed", `
application.onPublish = function (c, s) { return s.publishQueryString === "key=s3cret-K3Y&x=1"; };`)
	c := dial(t, o.url("keyed"), rtmpclient.Options{})
	if code, _ := publishCode(t, c, "cam?key=s3cret-K3Y&x=1"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish with the right key: %s", code)
	}
	c.Close()
	waitFor(t, 5e9, "the unpublish to be logged", func() bool { return strings.Contains(o.logs.String(), `"unpublish"`) })
	redacted := false
	for _, line := range strings.Split(o.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["level"] != "debug" && rec["level"] != "trace" && strings.Contains(line, "s3cret-K3Y") {
			t.Errorf("the stream key is logged at %v: %s", rec["level"], line)
		}
		redacted = redacted || rec["query"] == "key=***&x=***"
	}
	if !redacted {
		t.Errorf("no log line shows the redacted query key=***&x=***")
	}
}
