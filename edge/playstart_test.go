package edge

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestPlayStartSameThroughEdge: an edge player gets the same play-start sequence as a direct one
// (netstream.PlayStart), for an AMF0 client (no NetStream.Data.Start: ffmpeg would make it a
// data stream) and an AMF3 one (with it, as FMS sends Flash players), up to the first frame.
func TestPlayStartSameThroughEdge(t *testing.T) {
	t.Parallel()
	_, e, direct, pub, sid := publishDirect(t, "seq")
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

// publishDirect starts an origin with the live app and an edge on it, and publishes name to the
// origin directly; it returns the origin, the edge, the origin's live URL and the publisher.
func publishDirect(t *testing.T, name string) (*testOrigin, *testEdge, string, *rtmpclient.Client, uint32) {
	t.Helper()
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	direct := "rtmp://" + o.srv.RTMPAddr().String() + "/live"
	pub := dial(t, direct, rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, name, "live"); err != nil {
		t.Fatal(err)
	}
	return o, e, direct, pub, sid
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

// TestJoinBurstThroughEdge: a player joining through the edge gets the same burst as a direct
// one: from the newest keyframe followed by at least 41 video frames (core/live gopCache), so
// that ffmpeg starts at once there too.
func TestJoinBurstThroughEdge(t *testing.T) {
	t.Parallel()
	o, e, direct, pub, sid := publishDirect(t, "burst")
	if err := pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}); err != nil {
		t.Fatal(err)
	}
	const frames = 85 // keyframes at 0, 25, 50, 75: the burst starts at 25 (50 has 35 frames)
	for i := 0; i < frames; i++ {
		typ := byte(0x27)
		if i%25 == 0 {
			typ = 0x17
		}
		if err := pub.WriteMedia(sid, 9, uint32(i*40), []byte{typ, 1, 0, 0, 0, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// every frame is in the origin's cache before anyone joins: a player joining while the
	// frames still arrive gets an earlier burst (too few frames after keyframe 25 yet)
	const published = 10 + frames*6 // the sequence header and the frames, in payload bytes
	waitFor(t, "every frame in the origin", func() bool {
		return instanceMediaBytes(o.srv.Metrics(), "live/_definst_") >= published
	})
	for where, url := range map[string]string{"direct": direct, "edge": e.url("live")} {
		first, n := burstOf(t, url, frames-1)
		if first != 25 || n != frames-25 {
			t.Fatalf("%s player: burst from frame %d with %d video frames, want from 25 with %d", where, first, n, frames-25)
		}
	}
}

// burstOf plays burst and returns the first video frame's number and the number of video frames
// up to the one numbered last.
func burstOf(t *testing.T, url string, last int) (first, n int) {
	t.Helper()
	c := dial(t, url, rtmpclient.Options{})
	defer c.Close()
	id, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(id, "burst", -2); err != nil {
		t.Fatal(err)
	}
	first = -1
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if ev.Kind != rtmpclient.EventMedia || ev.TypeID != 9 || ev.Payload[1] != 1 {
			continue
		}
		if first < 0 {
			first = int(ev.Payload[5])
		}
		n++
		if int(ev.Payload[5]) == last {
			return first, n
		}
	}
}

// instanceMediaBytes is fmsgo_instance_media_bytes_in of an instance ("APP/INSTANCE"; 0 if absent).
func instanceMediaBytes(ms []admin.Metric, instance string) float64 {
	for _, m := range ms {
		if m.Name != "fmsgo_instance_media_bytes_in" {
			continue
		}
		for _, smp := range m.Samples {
			if smp.Labels["instance"] == instance {
				return smp.Value
			}
		}
	}
	return 0
}
