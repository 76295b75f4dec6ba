package origin

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
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

// takeoverApp lets a publisher with ?key=boss take a silent stream over (the documented hook)
// and records what onPublish saw in stream.takeover.
const takeoverApp = `
var seen = [];
application.onPublish = function (client, stream) {
  seen.push(stream.takeover === true);
  if (stream.takeover && stream.publishQueryString === "key=boss") stream.acceptTakeover = true;
  return true;
};
Client.prototype.seen = function () { var s = seen.join(","); seen = []; return s; };`

// checkTakeover runs the takeover rule through dialFrom (a client from a local address): a
// publisher of another address or another key gets NetStream.Publish.BadName even after the
// holder's silence (onPublish was told stream.takeover), the same identity takes over, and so
// does one the app accepts through stream.acceptTakeover.
func checkTakeover(t *testing.T, dialFrom func(local, path string) *rtmpclient.Client) {
	first := dialFrom("127.0.0.1", "tk?token=t1")
	if code, _ := publishCode(t, first, "cam?key=k1"); code != "NetStream.Publish.Start" {
		t.Fatalf("first publish: %s", code)
	}
	watcher := dialFrom("127.0.0.1", "tk")
	// Another address with the same URL, then the same address with another publish key or
	// another connect query: refused, also once the holder is silent (seen: takeover true).
	for _, c := range []struct{ local, path, stream string }{
		{"127.0.0.2", "tk?token=t1", "cam?key=k1"},
		{"127.0.0.1", "tk?token=t1", "cam?key=k2"},
		{"127.0.0.1", "tk?token=t2", "cam?key=k1"},
	} {
		other := dialFrom(c.local, c.path)
		for try := 0; ; try++ {
			code, desc := publishCode(t, other, c.stream)
			if code != "NetStream.Publish.BadName" {
				t.Fatalf("%+v took the stream over: %s %q", c, code, desc)
			}
			if seen, _ := watcher.Call(ctx5(t), "seen"); seen == "true" {
				break // refused although the holder was silent
			}
			if try == 100 {
				t.Fatalf("%+v: the holder never went silent", c)
			}
			time.Sleep(20 * time.Millisecond) // an encoder's retry pause
		}
		other.Close()
	}
	again := dialFrom("127.0.0.1", "tk?token=t1")
	if code, desc := publishCode(t, again, "cam?key=k1"); code != "NetStream.Publish.Start" {
		t.Fatalf("the same identity after the silence: %s %q, want a takeover", code, desc)
	}
	select {
	case <-first.Done():
	case <-ctx5(t).Done():
		t.Fatal("the replaced publisher was not disconnected")
	}
	boss := dialFrom("127.0.0.2", "tk")
	for try := 0; ; try++ {
		code, _ := publishCode(t, boss, "cam?key=boss")
		if code == "NetStream.Publish.Start" {
			break
		}
		if try == 100 {
			t.Fatalf("the takeover the app accepts never happened: %s", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-again.Done():
	case <-ctx5(t).Done():
		t.Fatal("the publisher replaced through the app's hook was not disconnected")
	}
}

// TestTakeoverOnlyForSameIdentity: a silent publisher is replaced by the same identity (address,
// connect and publish queries) or by whom onPublish accepts; anyone else gets BadName.
func TestTakeoverOnlyForSameIdentity(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.Live.TakeoverIdle = 300 * time.Millisecond }, "tk")
	o.writeApp(t, "tk", takeoverApp)
	checkTakeover(t, func(local, path string) *rtmpclient.Client {
		return dial(t, o.url(path), rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}})
	})
}
