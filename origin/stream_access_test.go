package origin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
)

// TestStreamAccessLists: readAccess and writeAccess decide play and publish with FMS's
// path-prefix rules, before onPlay / onPublish, with NetStream.Play.Failed and
// NetStream.Publish.BadName naming the list.
func TestStreamAccessLists(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "acc")
	o.writeApp(t, "acc", clienttest.StreamAccessApp)
	clienttest.CheckStreamAccess(t, func(read, write string) *rtmpclient.Client {
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
	if code, _ := clienttest.PublishCode(t, c, "cam?key=s3cret-K3Y&x=1"); code != "NetStream.Publish.Start" {
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
