package origin

import (
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestRecordedPlayRefusedUntilItExists: a play of recorded media only (start >= 0) of a name
// nobody publishes is StreamNotFound at once instead of a wait for a live stream that never
// starts (VOD is not built yet; recording is: record_test.go). A live stream is still played
// with start 0 (rtmpdump's default without --live).
func TestRecordedPlayRefusedUntilItExists(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	t0 := time.Now()
	if err := c.Play(sid, "nosuchfile", 0); err != nil {
		t.Fatal(err)
	}
	if code := nextStatus(t, c, sid); code != "NetStream.Play.StreamNotFound" {
		t.Fatalf("play of a missing recording: %s", code)
	}
	t.Logf("StreamNotFound after %v", time.Since(t0))

	pub, psid := startPublisher(t, o, "live", "on-air")
	publishHeaders(t, pub, psid)
	pub.WriteMedia(psid, 9, 0, videoFrame(0, true, 100))
	player := dial(t, o.url("live"), rtmpclient.Options{})
	plsid, _ := player.CreateStream(ctx5(t))
	if err := player.Play(plsid, "on-air", 0); err != nil {
		t.Fatal(err)
	}
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
