package rtmpclient

import (
	"bytes"
	"github.com/fmsgo/fmsgo/core/peertest"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// syntheticFrames is a small FLV-like sequence: AVC and AAC sequence headers, then a keyframe,
// inter frames and audio frames, 40 ms apart.
func syntheticFrames() []struct {
	typeID uint8
	ts     uint32
	body   []byte
} {
	type f = struct {
		typeID uint8
		ts     uint32
		body   []byte
	}
	frames := []f{
		{rtmpmsg.TypeVideo, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce}},
		{rtmpmsg.TypeAudio, 0, []byte{0xaf, 0, 0x12, 0x10}},
	}
	for i := range 10 {
		key := byte(0x27)
		if i == 0 {
			key = 0x17
		}
		body := append([]byte{key, 1, 0, 0, 0}, bytes.Repeat([]byte{byte(i)}, 500+100*i)...)
		frames = append(frames, f{rtmpmsg.TypeVideo, uint32(40 * i), body},
			f{rtmpmsg.TypeAudio, uint32(40*i + 20), []byte{0xaf, 1, byte(i), 0x21}})
	}
	return frames
}

func TestPublishPlayThroughNginx(t *testing.T) {
	t.Parallel()
	// AMF0 only: nginx-rtmp reads a type 17 command as AMF0 after its format byte and so cannot
	// parse our 0x11-switched connect object (it closes); AMF3 is covered by the fake server.
	addr := peertest.StartNginx(t)
	url, name := "rtmp://"+addr+"/live", "synthetic"
	ctx := ctxT(t)
	pub, err := Dial(ctx, url, Options{ChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	player, err := Dial(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	psid, err := player.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := player.Play(psid, name, -2); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, player, psid, "NetStream.Play.Start")
	sid, err := pub.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, sid, name, "live"); err != nil {
		t.Fatal(err)
	}
	meta := &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "width", Value: 320.0}, {Key: "videocodecid", Value: 7.0}}}
	if err := pub.WriteData(sid, "@setDataFrame", "onMetaData", meta); err != nil {
		t.Fatal(err)
	}
	frames := syntheticFrames()
	for _, f := range frames {
		if err := pub.WriteMedia(sid, f.typeID, f.ts, f.body); err != nil {
			t.Fatal(err)
		}
	}
	checkPlayback(t, player, psid, frames)
}

// checkPlayback reads until every frame arrived; nginx-rtmp interleaves audio and video in its
// own order (sequence headers first), so the order is checked per media type.
func checkPlayback(t *testing.T, player *Client, psid uint32, frames []struct {
	typeID uint8
	ts     uint32
	body   []byte
}) {
	want := map[uint8][]int{}
	for i, f := range frames {
		want[f.typeID] = append(want[f.typeID], i)
	}
	gotMeta := false
	for n := 0; n < len(frames); n++ {
		ev := nextMedia(t, player, &gotMeta)
		if len(want[ev.TypeID]) == 0 {
			t.Fatalf("unexpected media type %d", ev.TypeID)
		}
		f := frames[want[ev.TypeID][0]]
		want[ev.TypeID] = want[ev.TypeID][1:]
		if ev.StreamID != psid || ev.Timestamp != f.ts || !bytes.Equal(ev.Payload, f.body) {
			t.Fatalf("type %d: got sid %d ts %d len %d, want ts %d len %d", ev.TypeID,
				ev.StreamID, ev.Timestamp, len(ev.Payload), f.ts, len(f.body))
		}
	}
	if !gotMeta {
		t.Fatal("no onMetaData before the media")
	}
}

func nextMedia(t *testing.T, c *Client, gotMeta *bool) Event {
	for {
		ev, err := c.NextEvent(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == EventData && ev.Name == "onMetaData" {
			*gotMeta = true
		}
		if ev.Kind == EventMedia {
			return ev
		}
	}
}

func waitStatus(t *testing.T, c *Client, sid uint32, code string) {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctxT(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", code, err)
		}
		if ev.Kind == EventStatus && ev.StreamID == sid && ev.Info.String("code") == code {
			return
		}
	}
}

func TestNginxUnknownApp(t *testing.T) {
	t.Parallel()
	addr := peertest.StartNginx(t)
	if c, err := Dial(ctxT(t), "rtmp://"+addr+"/nosuchapp", Options{Timeout: 3 * time.Second}); err == nil {
		c.Close()
		t.Fatal("connect to an unknown nginx application succeeded")
	}
}
