package edge

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestEdgePublishBatched: a publish that enters the origin through an edge reaches the origin's
// players with as few socket writes as a direct publish: coalescing is the connection layer's,
// whoever produces the media (the origin's trunk relay or a publisher's read loop). ffmpeg
// publishes the same source to an origin directly and through an edge; the origin's write and
// message counters (fmsgo_rtmp_writes_total, fmsgo_rtmp_messages_out_total) over the same
// stretch of playback give each path's writes per player per second and messages per write.
func TestEdgePublishBatched(t *testing.T) {
	t.Parallel()
	requireTool(t, "ffmpeg")
	const players = 8
	direct, viaEdge := measureWrites(t, false, players), measureWrites(t, true, players)
	t.Logf("direct: %v; through the edge: %v", direct, viaEdge)
	if viaEdge.msgsPerWrite < 3 {
		t.Errorf("through the edge the origin wrote %.2f messages per write (direct %.2f): one write per message, not batched",
			viaEdge.msgsPerWrite, direct.msgsPerWrite)
	}
	if viaEdge.writesPerPlayerSec > 2*direct.writesPerPlayerSec {
		t.Errorf("through the edge %.1f writes per player per second, direct %.1f: more than twice as many",
			viaEdge.writesPerPlayerSec, direct.writesPerPlayerSec)
	}
}

// writeRate is what an origin's players cost in socket writes over a stretch of playback.
type writeRate struct {
	writesPerPlayerSec, msgsPerWrite float64
}

func (r writeRate) String() string {
	return fmt.Sprintf("%.1f writes/player/s, %.1f messages/write", r.writesPerPlayerSec, r.msgsPerWrite)
}

// measureWrites publishes live/cam with ffmpeg to an origin (through an edge when throughEdge),
// plays it from n players on the origin, and counts the origin's writes while every player
// receives another 100 media messages after its start (the first joinVideoFrames video frames,
// which go out at once).
func measureWrites(t *testing.T, throughEdge bool, n int) writeRate {
	o := startOrigin(t, "", map[string]string{"live": ""})
	target := "rtmp://" + o.srv.RTMPAddr().String() + "/live/cam"
	if throughEdge {
		target = startEdge(t, "", o).url("live/cam")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-c:a", "aac", "-t", "25",
		"-f", "flv", target)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	started, more := make(chan error, n), make(chan error, n)
	url := "rtmp://" + o.srv.RTMPAddr().String() + "/live"
	for range n {
		go playCounting(ctx, url, 100, started, more)
	}
	for range n {
		if err := <-started; err != nil {
			t.Fatal(err)
		}
	}
	w0, m0 := originWrites(o)
	t0 := time.Now()
	for range n {
		if err := <-more; err != nil {
			t.Fatal(err)
		}
	}
	w1, m1 := originWrites(o)
	secs := time.Since(t0).Seconds()
	return writeRate{writesPerPlayerSec: (w1 - w0) / float64(n) / secs, msgsPerWrite: (m1 - m0) / max(w1-w0, 1)}
}

// playCounting plays cam from url, reports on started once its start is over (joinVideoFrames
// video frames arrived), then on more once count further media messages did.
func playCounting(ctx context.Context, url string, count int, started, more chan<- error) {
	c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		started <- err
		return
	}
	defer c.Close()
	if err = playWhenPublished(ctx, c); err != nil {
		started <- err
		return
	}
	started <- nil
	for got := 0; got < count; {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			more <- fmt.Errorf("after %d media messages: %w", got, err)
			return
		}
		if ev.Kind == rtmpclient.EventMedia {
			got++
		}
	}
	more <- nil
}

// joinVideoFrames is more than the video frames of a player's start (live.Config's default
// JoinVideoFrames), which the origin writes at once rather than coalesced.
const joinVideoFrames = 45

// playWhenPublished plays cam and waits for joinVideoFrames video frames (the stream may not be
// published yet: the player waits for it, as FMS players do).
func playWhenPublished(ctx context.Context, c *rtmpclient.Client) error {
	id, err := c.CreateStream(ctx)
	if err != nil {
		return err
	}
	if err := c.Play(id, "cam", -1); err != nil {
		return err
	}
	for frames := 0; frames < joinVideoFrames; {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return fmt.Errorf("after %d video frames: %w", frames, err)
		}
		if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 {
			frames++
		}
	}
	return nil
}

// originWrites reads the origin's socket writes and messages written to its RTMP clients.
func originWrites(o *testOrigin) (writes, msgs float64) {
	for _, m := range o.srv.Metrics() {
		if len(m.Samples) == 0 {
			continue
		}
		switch m.Name {
		case "fmsgo_rtmp_writes_total":
			writes = m.Samples[0].Value
		case "fmsgo_rtmp_messages_out_total":
			msgs = m.Samples[0].Value
		}
	}
	return writes, msgs
}
