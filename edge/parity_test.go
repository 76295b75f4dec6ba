package edge

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestSendBWDoneThroughEdge: an edge client gets onBWDone after connect exactly when a direct
// client of the same app does (app.json "sendBWDone", carried by the verdict).
func TestSendBWDoneThroughEdge(t *testing.T) {
	t.Parallel()
	const app = "application.onConnect = function () { return true; };\nClient.prototype.ping = function () { return 1; };\n"
	apps := writeApps(t, map[string]string{"bw": app, "quiet": app})
	if err := os.WriteFile(filepath.Join(apps, "quiet", "app.json"), []byte(`{"sendBWDone": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startOriginDirs(t, "127.0.0.1:0", apps, t.TempDir())
	e := startEdge(t, "", o)
	direct := "rtmp://" + o.srv.RTMPAddr().String() + "/"
	for _, c := range []struct {
		app  string
		want bool
	}{{"bw", true}, {"quiet", false}} {
		for where, base := range map[string]string{"direct": direct, "edge": e.url("")} {
			if got := sawBWDone(t, base+c.app); got != c.want {
				t.Fatalf("%s client of %q: onBWDone %v, want %v", where, c.app, got, c.want)
			}
		}
	}
}

// sawBWDone connects, makes a call (answered after anything sent at connect) and reports whether
// onBWDone arrived before the answer.
func sawBWDone(t *testing.T, url string) bool {
	t.Helper()
	c := dial(t, url, rtmpclient.Options{})
	if _, err := c.Call(ctx5(t), "ping"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-c.Events():
			if ev.Kind == rtmpclient.EventCommand && ev.Name == "onBWDone" {
				return true
			}
		default:
			return false
		}
	}
}

// TestStreamDataThroughEdge: a live stream's data messages other than metadata (cue points, custom
// data, @setDataFrame of something else) reach an edge viewer exactly as they reach a direct one,
// in order with the media, whether the publisher is on the origin or on an edge.
func TestStreamDataThroughEdge(t *testing.T) {
	t.Parallel()
	for _, pubWhere := range []string{"origin", "edge"} {
		t.Run("publisher on "+pubWhere, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "", map[string]string{"live": ""})
			e := startEdge(t, "", o)
			direct := "rtmp://" + o.srv.RTMPAddr().String() + "/live"
			pubURL := direct
			if pubWhere == "edge" {
				pubURL = e.url("live")
			}
			pub := dial(t, pubURL, rtmpclient.Options{})
			sid, err := pub.CreateStream(ctx5(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pub.Publish(ctx5(t), sid, "cue", "live"); err != nil {
				t.Fatal(err)
			}
			if err := pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}); err != nil {
				t.Fatal(err)
			}
			viewers := map[string]*rtmpclient.Client{"direct": dial(t, direct, rtmpclient.Options{}), "edge": dial(t, e.url("live"), rtmpclient.Options{})}
			for _, c := range viewers {
				id, err := c.CreateStream(ctx5(t))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Play(id, "cue", -1); err != nil {
					t.Fatal(err)
				}
				waitStatus(t, c, "NetStream.Play.Start")
			}
			waitFor(t, "edge viewer attached", func() bool { return localViewers(e.srv, "live/_definst_", "cue") == 1 })
			// data messages are not cached: the edge's pull must be in place first
			waitFor(t, "the edge's pull on the origin", func() bool { return o.srv.TrunkSubscriptions() == 1 })
			writeCues(t, pub, sid)
			got := map[string][]dataMsg{}
			for name, c := range viewers {
				got[name] = dataUntilLastFrame(t, c)
			}
			if len(got["direct"]) < 3 || !reflect.DeepEqual(got["direct"], got["edge"]) {
				t.Fatalf("data messages differ:\ndirect %s\nedge   %s", show(got["direct"]), show(got["edge"]))
			}
		})
	}
}

// writeCues sends key frames with data messages between them; the frame with ts 200 is last.
func writeCues(t *testing.T, pub *rtmpclient.Client, sid uint32) {
	t.Helper()
	cue := &amf.Object{Props: []amf.Prop{{Key: "name", Value: "chapter"}, {Key: "time", Value: 1.5}}}
	for ts := uint32(40); ts <= 200; ts += 40 {
		if err := pub.WriteMedia(sid, 9, ts, []byte{0x17, 1, 0, 0, 0, byte(ts)}); err != nil {
			t.Fatal(err)
		}
		var err error
		switch ts {
		case 80:
			err = pub.WriteData(sid, "onCuePoint", cue)
		case 120:
			err = pub.WriteData(sid, "@setDataFrame", "onCuePoint", cue)
		case 160:
			err = pub.WriteData(sid, "onTextData", &amf.Object{Props: []amf.Prop{{Key: "text", Value: "hello"}}}, 7.0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dataMsg is a data message as a viewer got it.
type dataMsg struct {
	Name string
	Args []any
	TS   uint32
}

// dataUntilLastFrame collects the data messages a viewer gets (metadata excluded) up to the last
// frame writeCues sends.
func dataUntilLastFrame(t *testing.T, c *rtmpclient.Client) []dataMsg {
	t.Helper()
	var out []dataMsg
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("after data %s: %v", show(out), err)
		}
		switch {
		case ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && len(ev.Payload) == 6 && ev.Payload[5] == 200:
			return out
		case ev.Kind == rtmpclient.EventData && ev.Name != "onMetaData" && ev.Name != "|RtmpSampleAccess" && ev.Name != "onStatus":
			out = append(out, dataMsg{ev.Name, ev.Args, ev.Timestamp})
		}
	}
}

func show(ms []dataMsg) string {
	s := ""
	for _, m := range ms {
		s += fmt.Sprintf("[%s @%d", m.Name, m.TS)
		for _, a := range m.Args {
			if o, ok := a.(*amf.Object); ok {
				s += fmt.Sprintf(" %+v", o.Props)
			} else {
				s += fmt.Sprintf(" %v", a)
			}
		}
		s += "] "
	}
	return s
}
