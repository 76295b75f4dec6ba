package edge

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestPlayStartSameThroughEdge: an edge player gets the same play-start sequence as a direct one
// (netstream.PlayStart), for an AMF0 client (no NetStream.Data.Start: ffmpeg would make it a
// data stream) and an AMF3 one (with it, as FMS sends Flash players), up to the first frame.
func TestPlayStartSameThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	direct := "rtmp://" + o.srv.RTMPAddr().String() + "/live"
	pub := dial(t, direct, rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "seq", "live"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		typ     uint8
		payload []byte
	}{{9, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}}, {8, []byte{0xAF, 0, 0x12, 0x10}}, {9, []byte{0x17, 1, 0, 0, 0, 7}}} {
		if err := pub.WriteMedia(sid, m.typ, 0, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	// published (Publish.Start came back): a player from here on gets the same sequence, and the
	// keyframe whether it is cached yet or arrives after the play
	for _, enc := range []int{0, 3} {
		want := "[StreamBegin NetStream.Play.Reset NetStream.Play.Start 18:|RtmpSampleAccess]"
		if enc == 3 {
			want = "[StreamBegin NetStream.Play.Reset NetStream.Play.Start 18:|RtmpSampleAccess 18:onStatus:NetStream.Data.Start]"
		}
		for where, url := range map[string]string{"direct": direct, "edge": e.url("live")} {
			if got := playStartOf(t, url, enc); got != want {
				t.Fatalf("AMF%d %s player: %s, want %s", enc, where, got, want)
			}
		}
	}
}

// playStartOf plays seq and describes what arrives on the play's stream before the first video
// frame: user control StreamBegin, status codes and data messages (metadata excluded).
func playStartOf(t *testing.T, url string, enc int) string {
	t.Helper()
	c := dial(t, url, rtmpclient.Options{ObjectEncoding: enc})
	defer c.Close()
	id, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(id, "seq", -2); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch {
		case ev.Kind == rtmpclient.EventUserControl && ev.UserControl.Event == rtmpmsg.EventStreamBegin && ev.UserControl.Data == id:
			got = append(got, "StreamBegin")
		case ev.Kind == rtmpclient.EventStatus && ev.StreamID == id:
			got = append(got, ev.Info.String("code"))
		case ev.Kind == rtmpclient.EventData && ev.Name != "onMetaData":
			name := ev.Name
			if o, _ := slices.Concat(ev.Args, []any{nil})[0].(*amf.Object); o != nil {
				name += ":" + o.String("code")
			}
			got = append(got, fmt.Sprintf("%d:%s", ev.TypeID, name))
		case ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && ev.Payload[1] == 1:
			return fmt.Sprint(got)
		}
	}
}
