package origin

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
)

// TestFrozenEncoderReplaced: an ffmpeg publisher frozen with SIGSTOP (its TCP session stays
// open, as when an encoder's network drops) is replaced by a new ffmpeg within a few seconds; the
// player that was watching continues with timestamps that never go backwards (CLIENTS.md #17).
func TestFrozenEncoderReplaced(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	first := ffmpegPublish(t, o.url("live/frozen"), 60)
	o.waitPublished(t, "live", "frozen")

	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	player.Play(psid, "frozen", -1)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var last uint32
	frames := 0
	next := func() rtmpclient.Event {
		ev, err := player.NextEvent(ctx)
		if err != nil {
			t.Fatalf("player after %d frames: %v", frames, err)
		}
		if ev.Kind == rtmpclient.EventMedia {
			if frames > 0 && ev.Timestamp < last {
				t.Fatalf("timestamp went backwards: %d after %d", ev.Timestamp, last)
			}
			last = ev.Timestamp
			frames++
		}
		return ev
	}
	for frames < 50 {
		next()
	}
	if err := first.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozenAt := time.Now()
	// An encoder retries until the server lets it in; the first tries meet BadName while the old
	// session has been silent for less than the takeover delay.
	for try := 0; ; try++ {
		if try == 15 {
			t.Fatal("the new publisher never got in")
		}
		p := ffmpegPublish(t, o.url("live/frozen"), 30)
		select {
		case <-p.done: // refused (BadName): retry after a pause, like an encoder
			time.Sleep(500 * time.Millisecond)
			continue
		case <-time.After(2 * time.Second):
		}
		break
	}
	t.Logf("new publisher took over %v after the freeze", time.Since(frozenAt))
	seenNotify := false
	for before := frames; frames < before+50; {
		if ev := next(); ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetStream.Play.PublishNotify" {
			seenNotify = true
		}
	}
	if !seenNotify {
		t.Fatal("the player was not told of the new publisher")
	}
}

// TestTakeoverOnlyForSameIdentity: a silent publisher is replaced by the same identity (address,
// connect and publish queries) or by whom onPublish accepts; anyone else gets BadName.
func TestTakeoverOnlyForSameIdentity(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.Live.TakeoverIdle = 300 * time.Millisecond }, "tk")
	o.writeApp(t, "tk", clienttest.TakeoverApp)
	clienttest.CheckTakeover(t, func(local, path string) *rtmpclient.Client {
		return dial(t, o.url(path), rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}})
	})
}
