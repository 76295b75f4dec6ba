package origin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

func dial(t testing.TB, url string, opt rtmpclient.Options) *rtmpclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, url, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// synthetic media: an AVC sequence header, AAC config, and frames tagged with their index.
var (
	avcSeqHeader = []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x28, 0xFF}
	aacSeqHeader = []byte{0xAF, 0, 0x12, 0x10}
)

func videoFrame(i int, key bool, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = 0x27, 1
	if key {
		b[0] = 0x17
	}
	copy(b[5:], fmt.Sprintf("frame-%06d", i))
	return b
}

// publishHeaders sends metadata and sequence headers the way encoders do.
func publishHeaders(t testing.TB, c *rtmpclient.Client, sid uint32) {
	t.Helper()
	meta := &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "width", Value: 320.0}, {Key: "height", Value: 240.0}}}
	if err := c.WriteData(sid, "@setDataFrame", "onMetaData", meta); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMedia(sid, 9, 0, avcSeqHeader); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMedia(sid, 8, 0, aacSeqHeader); err != nil {
		t.Fatal(err)
	}
}

func startPublisher(t testing.TB, o *testOrigin, path, name string) (*rtmpclient.Client, uint32) {
	t.Helper()
	c := dial(t, o.url(path), rtmpclient.Options{})
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx5(t), sid, name, "live"); err != nil {
		t.Fatal(err)
	}
	return c, sid
}

// playerLog collects what a player receives, in order.
type playerLog struct {
	statuses []string
	data     []string
	media    []rtmpclient.Event
}

// play starts playing and collects until stop() or n media messages.
func collect(t testing.TB, c *rtmpclient.Client, sid uint32, name string, n int) *playerLog {
	t.Helper()
	if err := c.Play(sid, name, -2); err != nil {
		t.Fatal(err)
	}
	pl := &playerLog{}
	ctx := ctx5(t)
	for len(pl.media) < n {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatalf("after %d media: %v (statuses %v)", len(pl.media), err, pl.statuses)
		}
		switch ev.Kind {
		case rtmpclient.EventStatus:
			pl.statuses = append(pl.statuses, ev.Info.String("code"))
		case rtmpclient.EventData:
			if ev.Name == "onStatus" && len(ev.Args) > 0 {
				o, _ := ev.Args[0].(*amf.Object)
				pl.data = append(pl.data, "onStatus:"+o.String("code"))
			} else {
				pl.data = append(pl.data, ev.Name)
			}
			pl.media = append(pl.media, ev)
		case rtmpclient.EventMedia:
			pl.media = append(pl.media, ev)
		}
	}
	return pl
}

// TestLateJoinerStartsOnKeyframe: metadata, video and audio sequence headers, then a keyframe,
// in FMS's order after the play statuses; the burst starts at the newest keyframe that gives the
// joiner at least 41 video frames at once (what ffmpeg reads before its first frame), here the
// one before the last. NetStream.Data.Start goes to an AMF3 client (a Flash player), not to an
// AMF0 one (ffmpeg would make it a data stream); |RtmpSampleAccess to both.
func TestLateJoinerStartsOnKeyframe(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	pub, sid := startPublisher(t, o, "live", "late")
	publishHeaders(t, pub, sid)
	const frames = 100 // keyframes at 0, 25, 50 and 75
	for i := 0; i < frames; i++ {
		pub.WriteMedia(sid, 9, uint32(i*40), videoFrame(i, i%25 == 0, 300))
		pub.WriteMedia(sid, 8, uint32(i*40), []byte{0xAF, 1, byte(i)})
	}
	o.waitPublished(t, "live", "late")
	waitFor(t, 5*time.Second, "all frames in", func() bool { return o.srv.streamBytes("live", "late") >= frames*300 })

	for _, enc := range []int{0, 3} {
		wantData := []string{"|RtmpSampleAccess", "onMetaData"}
		if enc == 3 {
			wantData = []string{"|RtmpSampleAccess", "onStatus:NetStream.Data.Start", "onMetaData"}
		}
		player := dial(t, o.url("live"), rtmpclient.Options{ObjectEncoding: enc})
		psid, _ := player.CreateStream(ctx5(t))
		pl := collect(t, player, psid, "late", len(wantData)+2+2*(frames-50))
		if want := []string{"NetStream.Play.Reset", "NetStream.Play.Start"}; fmt.Sprint(pl.statuses) != fmt.Sprint(want) {
			t.Fatalf("AMF%d: statuses %v, want %v", enc, pl.statuses, want)
		}
		if fmt.Sprint(pl.data) != fmt.Sprint(wantData) {
			t.Fatalf("AMF%d: data messages %v, want %v", enc, pl.data, wantData)
		}
		m := pl.media[len(wantData):]
		if m[0].TypeID != 9 || m[0].Payload[1] != 0 || m[1].TypeID != 8 || m[1].Payload[1] != 0 {
			t.Fatalf("sequence headers not first: %+v", m[:2])
		}
		if m[2].TypeID != 9 || m[2].Payload[0] != 0x17 || !bytes.Contains(m[2].Payload, []byte("frame-000050")) {
			t.Fatalf("first frame is not the keyframe at 50 (the newest followed by 41 frames): %q", m[2].Payload[:20])
		}
		video := 0
		for _, ev := range m[2:] {
			if ev.TypeID == 9 {
				video++
			}
		}
		if video != frames-50 {
			t.Fatalf("joiner got %d video frames at once, want %d", video, frames-50)
		}
	}
}

// TestFiftyPlayersIdenticalMedia: 50 players waiting before the publisher starts all get
// PublishNotify and byte-identical media.
func TestFiftyPlayersIdenticalMedia(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	const players, frames = 50, 100
	sums := make([][32]byte, players)
	var ready, done sync.WaitGroup
	for i := 0; i < players; i++ {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			c := dial(t, o.url("live"), rtmpclient.Options{ObjectEncoding: []int{0, 3}[i%2]})
			sid, err := c.CreateStream(ctx5(t))
			if err != nil {
				t.Error(err)
				ready.Done()
				return
			}
			c.Play(sid, "fifty", -1)
			ready.Done()
			h := sha256.New()
			ctx := ctx5(t)
			for n := 0; n < frames; {
				ev, err := c.NextEvent(ctx)
				if err != nil {
					t.Errorf("player %d after %d frames: %v", i, n, err)
					return
				}
				if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && ev.Payload[1] == 1 {
					fmt.Fprintf(h, "%d:", ev.Timestamp)
					h.Write(ev.Payload)
					n++
				}
			}
			copy(sums[i][:], h.Sum(nil))
		}(i)
	}
	ready.Wait()
	waitFor(t, 5*time.Second, "50 subscribers", func() bool { return o.srv.subscriberCount("live", "fifty") == players })
	pub, sid := startPublisher(t, o, "live", "fifty")
	publishHeaders(t, pub, sid)
	for i := 0; i < frames; i++ {
		pub.WriteMedia(sid, 9, uint32(i*40), videoFrame(i, i%25 == 0, 2000+i))
	}
	done.Wait()
	for i := 1; i < players; i++ {
		if sums[i] != sums[0] {
			t.Fatalf("player %d received different media", i)
		}
	}
}

func TestUnknownAppRejectedLikeFMS(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	_, err := rtmpclient.Dial(ctx5(t), o.url("nosuchapp"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("want a status error, got %v", err)
	}
	want := "[ Server.Reject ] : (_defaultRoot_, _defaultVHost_) : Application (nosuchapp) is not defined."
	if se.Code() != "NetConnection.Connect.Rejected" || se.Info.String("description") != want {
		t.Fatalf("got %v / %q", se.Code(), se.Info.String("description"))
	}
}

func TestConnectAMF3EchoesObjectEncoding(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	for _, enc := range []int{0, 3} {
		c := dial(t, o.url("live/room?token=x"), rtmpclient.Options{ObjectEncoding: enc})
		info := c.ConnectInfo()
		if info.String("code") != "NetConnection.Connect.Success" {
			t.Fatalf("enc %d: %v", enc, info)
		}
		if n, _ := info.Number("objectEncoding"); int(n) != enc {
			t.Fatalf("objectEncoding echoed %v, want %d", n, enc)
		}
		// commands after connect travel in the client's encoding and are answered
		if _, err := c.CreateStream(ctx5(t)); err != nil {
			t.Fatalf("enc %d createStream: %v", enc, err)
		}
		if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
			t.Fatalf("enc %d _checkbw: %v", enc, err)
		}
		_, err := c.Call(ctx5(t), "noSuchMethod", 1)
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" {
			t.Fatalf("unknown method: %v", err)
		}
	}
}

func TestSecondPublisherBadName(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	pub, sid := startPublisher(t, o, "live", "dup")
	pub.WriteMedia(sid, 9, 0, videoFrame(0, true, 100))
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid2, _ := c.CreateStream(ctx5(t))
	_, err := c.Publish(ctx5(t), sid2, "dup", "live")
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetStream.Publish.BadName" {
		t.Fatalf("want BadName, got %v", err)
	}
	// the session survives: a call still works
	if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatal(err)
	}
}

// TestJoinVideoFramesKey: [limits] join_video_frames = 1 (the lowest latency) starts a late
// joiner at the last keyframe, with the last GOP only.
func TestJoinVideoFramesKey(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.JoinVideoFrames = 1 })
	pub, sid := startPublisher(t, o, "live", "late")
	publishHeaders(t, pub, sid)
	const frames = 100 // keyframes at 0, 25, 50 and 75
	for i := 0; i < frames; i++ {
		pub.WriteMedia(sid, 9, uint32(i*40), videoFrame(i, i%25 == 0, 300))
	}
	o.waitPublished(t, "live", "late")
	waitFor(t, 5*time.Second, "all frames in", func() bool { return o.srv.streamBytes("live", "late") >= frames*300 })
	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	pl := collect(t, player, psid, "late", 2+1+(frames-75)) // data, the video sequence header, the last GOP
	var video []rtmpclient.Event
	for _, ev := range pl.media {
		if ev.TypeID == 9 && ev.Payload[1] != 0 {
			video = append(video, ev)
		}
	}
	if len(video) == 0 || !bytes.Contains(video[0].Payload, []byte("frame-000075")) {
		t.Fatalf("first frame is not the last keyframe (75): %d frames", len(video))
	}
}
