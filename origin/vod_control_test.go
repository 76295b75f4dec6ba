package origin

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// nextStatus returns the code of the next status on stream sid.
func nextStatus(t *testing.T, c *rtmpclient.Client, sid uint32) string {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.StreamID == sid && ev.Info != nil {
			return ev.Info.String("code")
		}
	}
}

// TestVODPauseAndSeek: a recorded play is paused (Pause.Notify) and resumed (Unpause.Notify),
// then sought to 3 s: StreamEOF, StreamIsRecorded, StreamBegin, Seek.Notify, Play.Start, and
// the first video frame after them is the keyframe at or before 3 s, with its own timestamp.
func TestVODPauseAndSeek(t *testing.T) {
	t.Parallel()
	o, _, _ := recorded(t, "vod5", 6)
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	must(t, c.Play(sid, "vod5", 0))
	collectVOD(t, c, sid, "media")
	must(t, c.SendCommand(sid, "pause", 0, nil, true, 500.0))
	collectVOD(t, c, sid, "NetStream.Pause.Notify")
	must(t, c.SendCommand(sid, "pause", 0, nil, false, 500.0))
	collectVOD(t, c, sid, "NetStream.Unpause.Notify")
	must(t, c.SendCommand(sid, "seek", 0, nil, 3000.0))
	evs := collectVOD(t, c, sid, "NetStream.Seek.Notify")
	if w := whats(evs); strings.Join(w[len(w)-4:], ",") != "uc 1,uc 4,uc 0,NetStream.Seek.Notify" {
		t.Fatalf("before Seek.Notify: %v", w)
	}
	evs = collectVOD(t, c, sid, "NetStream.Play.Stop")
	if evs[0].what != "NetStream.Play.Start" {
		t.Fatalf("after Seek.Notify: %s", evs[0].what)
	}
	for _, e := range evs {
		if e.what == "media" && e.ev.TypeID == rtmpmsg.TypeVideo && e.ev.Payload[1] != 0 {
			if e.ev.Payload[0]>>4 != 1 || e.ev.Timestamp < 2000 || e.ev.Timestamp > 3000 {
				t.Fatalf("first video after the seek: key %v at %d", e.ev.Payload[0]>>4 == 1, e.ev.Timestamp)
			}
			return
		}
	}
	t.Fatal("no video after the seek")
}

// TestVODNotFound: a play of a recording that does not exist (start 0) is
// NetStream.Play.StreamNotFound within 100 ms (measured from the play command), while a
// published live stream is still played with start 0 (rtmpdump's default); an mp4: name is
// NetStream.Play.Failed; start -2 of a missing recording waits for a live stream (Play.Start).
func TestVODNotFound(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	t0 := time.Now()
	must(t, c.Play(sid, "nosuchfile", 0))
	if code := nextStatus(t, c, sid); code != "NetStream.Play.StreamNotFound" {
		t.Fatalf("play of a missing recording: %s", code)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Fatalf("StreamNotFound after %v, the bound is 100 ms", d)
	} else {
		t.Logf("StreamNotFound after %v", d)
	}
	must(t, c.Play(sid, "mp4:movie.mp4", 0))
	if code := nextStatus(t, c, sid); code != "NetStream.Play.Failed" {
		t.Fatalf("play of an mp4: name: %s", code)
	}
	must(t, c.Play(sid, "notyet", -2))
	if code := nextStatus(t, c, sid); code != "NetStream.Play.Reset" {
		t.Fatalf("play -2 of a name neither published nor recorded: %s", code)
	}

	pub, psid := startPublisher(t, o, "live", "on-air")
	publishHeaders(t, pub, psid)
	pub.WriteMedia(psid, 9, 0, videoFrame(0, true, 100))
	player := dial(t, o.url("live"), rtmpclient.Options{})
	plsid, _ := player.CreateStream(ctx5(t))
	must(t, player.Play(plsid, "on-air", 0))
	for {
		code := nextStatus(t, player, plsid)
		if code == "NetStream.Play.Start" {
			break
		}
		if code != "NetStream.Play.Reset" {
			t.Fatalf("play of a live stream with start 0: %s", code)
		}
	}
}

// TestVODLiveFirst: start -2 plays the live stream when it is published, even with a
// recording of the name (no StreamIsRecorded), and start 0 the recording.
func TestVODLiveFirst(t *testing.T) {
	t.Parallel()
	o, _, _ := recorded(t, "both", 2)
	pub, psid := startPublisher(t, o, "live", "both")
	publishHeaders(t, pub, psid)
	pub.WriteMedia(psid, 9, 0, videoFrame(0, true, 100))
	for _, tc := range []struct {
		start    float64
		recorded bool
	}{{-2000, false}, {-2, false}, {0, true}} {
		c := dial(t, o.url("live"), rtmpclient.Options{})
		sid, _ := c.CreateStream(ctx5(t))
		must(t, c.Play(sid, "both", tc.start))
		evs := collectVOD(t, c, sid, "NetStream.Play.Start")
		if rec := evs[0].what == "uc 4"; rec != tc.recorded {
			t.Fatalf("start %v: recorded %v, want %v (%v)", tc.start, rec, tc.recorded, whats(evs))
		}
		c.Close()
	}
}
