package edge

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

const parityApp = `
application.onConnect = function (client) { return true; };
application.onPublish = function (client, stream) { return true; };
application.onPlay = function (client, stream) { return stream.name !== "private"; };
`

// TestNetStreamParityThroughEdge (issue 10 items 1 and 2): an edge client gets exactly what a
// direct client of the same app gets for every NetStream step — FCPublish's onFCPublish, a
// publish, a play the app refuses, an accepted play with its start sequence, pause, unpause,
// seek, closeStream of the play and of the publish — in the same order, user control events
// included, because one session core decides them and the edge only performs typed verdicts.
func TestNetStreamParityThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"par": parityApp})
	e := startEdge(t, "", o)
	got := map[string][]string{}
	for where, url := range map[string]string{"direct": "rtmp://" + o.srv.RTMPAddr().String() + "/par", "edge": e.url("par")} {
		got[where] = netStreamSteps(t, url, "cam-"+where)
	}
	if len(got["direct"]) < 12 || !slices.Equal(got["direct"], got["edge"]) {
		t.Fatalf("NetStream steps differ:\ndirect %q\nedge   %q", got["direct"], got["edge"])
	}
	t.Logf("%q", got["direct"])
}

// netStreamSteps runs the steps on a fresh client and returns what it got, labelled without the
// stream name (which differs per client).
func netStreamSteps(t *testing.T, url, name string) []string {
	t.Helper()
	c := dial(t, url, rtmpclient.Options{})
	var log []string
	if err := c.SendCommand(0, "FCPublish", 0, nil, name); err != nil {
		t.Fatal(err)
	}
	log = collect(t, c, log, "c:onFCPublish")
	pubID, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendCommand(pubID, "publish", 0, nil, name, "live"); err != nil {
		t.Fatal(err)
	}
	log = collect(t, c, log, "s1:NetStream.Publish.Start")
	playID, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		stream uint32
		cmd    string
		args   []any
		until  string
	}{
		{playID, "play", []any{"private"}, "s2:NetStream.Play.Failed"},
		{playID, "play", []any{name, -1.0}, "s2:NetStream.Play.Start"},
		{playID, "pause", []any{true, 0.0}, "s2:NetStream.Pause.Notify"},
		{playID, "pause", []any{false, 0.0}, "s2:NetStream.Unpause.Notify"},
		{playID, "seek", []any{0.0}, "s2:NetStream.Seek.Notify"},
		{playID, "closeStream", nil, "s2:NetStream.Play.Stop"},
		{pubID, "closeStream", nil, "s1:NetStream.Unpublish.Success"},
	}
	for _, s := range steps {
		if err := c.SendCommand(s.stream, s.cmd, 0, nil, s.args...); err != nil {
			t.Fatal(err)
		}
		log = collect(t, c, log, s.until)
	}
	return log
}

// collect appends labels of what c gets until the label until.
func collect(t *testing.T, c *rtmpclient.Client, log []string, until string) []string {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("waiting for %s (after %q): %v", until, log, err)
		}
		l := label(ev)
		if l == "" {
			continue
		}
		log = append(log, l)
		if l == until {
			return log
		}
	}
}

func label(ev rtmpclient.Event) string {
	switch ev.Kind {
	case rtmpclient.EventStatus:
		return fmt.Sprintf("s%d:%s", ev.StreamID, ev.Info.String("code"))
	case rtmpclient.EventCommand:
		return "c:" + ev.Name
	case rtmpclient.EventData:
		return fmt.Sprintf("d%d:%s", ev.StreamID, ev.Name)
	case rtmpclient.EventUserControl:
		switch ev.UserControl.Event {
		case rtmpmsg.EventStreamBegin:
			return fmt.Sprintf("u%d:begin", ev.UserControl.Data)
		case rtmpmsg.EventStreamEOF:
			return fmt.Sprintf("u%d:eof", ev.UserControl.Data)
		}
	}
	return ""
}
