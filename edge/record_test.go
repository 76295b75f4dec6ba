package edge

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin"
)

// TestRecordThroughEdge: a client publishing with type record through an edge is recorded by
// the origin (the publish command, its type included, reaches the origin's session): the
// statuses come back through the edge in FMS's order, and the origin's shutdown leaves the
// file closed, 2 s long.
func TestRecordThroughEdge(t *testing.T) {
	t.Parallel()
	var data string
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) { data = c.Data })
	e := startEdge(t, "", o)
	pub := dial(t, e.url("live"), rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "record"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, pub, "NetStream.Record.Start")
	publishFrames(t, pub, sid)
	if err := pub.SendCommand(sid, "closeStream", 0, nil); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for len(codes) < 2 {
		ev, err := pub.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.StreamID == sid {
			codes = append(codes, ev.Info.String("code"))
		}
	}
	if codes[0] != "NetStream.Record.Stop" || codes[1] != "NetStream.Unpublish.Success" {
		t.Fatalf("statuses at unpublish through the edge: %v", codes)
	}
	// A second recording is still running when the origin shuts down.
	if _, err := pub.Publish(ctx5(t), sid, "left", "record"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, pub, "NetStream.Record.Start")
	// A player on the origin, subscribed after the recorder: once it has the last frame, the
	// recorder's queue has it too.
	player := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	if err := player.Play(psid, "left", -1); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, player, "NetStream.Play.Start")
	publishFrames(t, pub, sid)
	waitFrame(t, player, 1960)
	o.stop() // waits for the recordings' files to be closed
	for _, name := range []string{"cam", "left"} {
		r := openRecording(t, filepath.Join(data, "media", "live", "streams", "_definst_", name+".flv"))
		m := r.Metadata()
		if d := r.Duration(); d < 1900*time.Millisecond || d > 2100*time.Millisecond || m == nil || len(m.Keyframes) != 2 {
			t.Fatalf("%s recorded through the edge: %v, %+v", name, d, m)
		}
		if m.Duration < 1.9 { // the final metadata rewrite, at Close
			t.Fatalf("%s: metadata duration %v", name, m.Duration)
		}
	}
}

// publishFrames sends 2 s of video, a keyframe each second.
func publishFrames(t *testing.T, pub *rtmpclient.Client, sid uint32) {
	t.Helper()
	pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff})
	for ts := uint32(0); ts < 2000; ts += 40 {
		frameType := byte(0x27)
		if ts%1000 == 0 {
			frameType = 0x17
		}
		if err := pub.WriteMedia(sid, 9, ts, []byte{frameType, 1, 0, 0, 0, byte(ts)}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFrame waits for the video frame of timestamp ts.
func waitFrame(t *testing.T, c *rtmpclient.Client, ts uint32) {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && ev.Timestamp >= ts {
			return
		}
	}
}

func openRecording(t *testing.T, p string) *flv.Reader {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	r, err := flv.NewReader(f, st.Size(), flv.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
