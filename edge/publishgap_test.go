package edge

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// gateProxy forwards one edge's trunk to an origin; pause stops forwarding edge → origin (the
// origin's trunk reader seems stalled, so the edge's trunk media queue fills), resume lets it go.
type gateProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   chan struct{} // closed while forwarding
}

func startGateProxy(t *testing.T, target string) *gateProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &gateProxy{ln: ln, target: target, open: make(chan struct{})}
	close(p.open)
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *gateProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		go func() { _, _ = io.Copy(in, out); in.Close() }()
		go func() { p.copyGated(out, in); out.Close() }()
	}
}

func (p *gateProxy) copyGated(dst io.Writer, src io.Reader) {
	buf := make([]byte, 16<<10)
	for {
		p.mu.Lock()
		open := p.open
		p.mu.Unlock()
		<-open
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *gateProxy) pause() {
	p.mu.Lock()
	p.open = make(chan struct{})
	p.mu.Unlock()
}

func (p *gateProxy) resume() {
	p.mu.Lock()
	close(p.open)
	p.mu.Unlock()
}

// gapFrame is one numbered H.264 frame: FLV video tag header, then the frame's number.
func gapFrame(n int, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = 0x27, 1
	if n%25 == 0 {
		b[0] = 0x17
	}
	binary.BigEndian.PutUint32(b[5:], uint32(n))
	return b
}

// TestEdgePublishGapResumesAtKeyframe: an edge publisher's media overflows the edge's trunk
// media queue (the origin stops reading the trunk for a while). The origin's player must get no
// P-frame whose predecessor it did not get (the FLV frame type of every video tag it receives is
// checked against the numbers before it): after the gap it resumes at a keyframe. The publisher
// is told with NetStream.Play.InsufficientBW, and the edge logs the drops.
func TestEdgePublishGapResumesAtKeyframe(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"live": ""})
	px := startGateProxy(t, o.srv.TrunkAddr().String())
	e := startEdgeWith(t, func(c *Config) {
		c.Origins = []string{px.ln.Addr().String()}
		c.Limits.Trunk.MaxMediaBytes = 128 << 10
	})
	player := dial(t, "rtmp://"+o.srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	pid, err := player.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := player.Play(pid, "cam", -1); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, player, "NetStream.Play.Start")
	checked := make(chan gopCheck, 1)
	var seen atomic.Int64 // the last frame the player got
	seen.Store(-1)
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	var broken atomic.Bool // the check ended at a broken GOP
	// The player reads as fast as it can.
	go func() {
		res := checkPlayerGOPs(readCtx, player, &seen)
		broken.Store(res.err != "")
		checked <- res
	}()

	pub := dial(t, e.url("live"), rtmpclient.Options{})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "live"); err != nil {
		t.Fatal(err)
	}
	told := make(chan string, 1)
	go func() { // the publisher's statuses
		for {
			ev, err := pub.NextEvent(context.Background())
			if err != nil {
				return
			}
			if ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetStream.Play.InsufficientBW" {
				select {
				case told <- ev.Info.String("level"):
				default:
				}
			}
		}
	}()
	const size = 8 << 10
	n := 0
	send := func() {
		t.Helper()
		if err := pub.WriteMedia(sid, 9, uint32(n*40), gapFrame(n, size)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := pub.WriteMedia(sid, 9, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}); err != nil {
		t.Fatal(err)
	}
	for n < 25 {
		send()
	}
	px.pause()
	var level string
	for level == "" && n < 3000 { // 24 MB: far more than the queue and the sockets hold
		send()
		select {
		case level = <-told:
		default:
		}
	}
	for range 30 { // more drops after the publisher was told
		send()
	}
	px.resume()
	drained := func() bool {
		st, _ := e.srv.links[0].current()
		return st != nil && st.conn.Stats().QueuedMedia == 0
	}
	waitFor(t, "the edge's trunk media queue drained", drained)
	for n%25 != 0 {
		send()
	}
	// Whole GOPs, none dropped by the edge (each frame goes once the queue is empty), until the
	// player got 10 frames after one of their keyframes: a player still behind the burst that
	// followed the resume skips to a later keyframe, as any slow player does.
	start := n
	for gop := 0; gop < 20 && !broken.Load(); gop++ {
		for end := n + 24; n <= end; {
			send()
			waitFor(t, "the edge's trunk media queue drained", drained)
		}
		if waitUntil(time.Second, func() bool { return broken.Load() || seen.Load() >= int64(start+10) }) {
			break
		}
	}
	stopReading()
	res := <-checked
	if res.err != "" {
		t.Fatal(res.err)
	}
	if seen.Load() < int64(start+10) {
		t.Fatalf("the player got no GOP of the last 20 (last frame %d)", seen.Load())
	}
	if level != "warning" {
		t.Fatalf("the publisher got no NetStream.Play.InsufficientBW warning (level %q)", level)
	}
	if res.gaps == 0 {
		t.Fatalf("the player saw no gap: the test did not overflow the queue (%d keyframes)", res.keys)
	}
	if !strings.Contains(e.logs.String(), "publisher media dropped") {
		t.Fatal("the edge did not log the drops")
	}
}

// gopCheck is what checkPlayerGOPs found: keyframes, gaps (a keyframe not following its
// predecessor), or the first broken GOP.
type gopCheck struct {
	keys, gaps int
	err        string
}

// checkPlayerGOPs reads the player's video until ctx ends, noting each frame's number in seen,
// and stops at a P-frame whose predecessor was not received.
func checkPlayerGOPs(ctx context.Context, player *rtmpclient.Client, seen *atomic.Int64) (res gopCheck) {
	prev := -1
	for {
		ev, err := player.NextEvent(ctx)
		if ctx.Err() != nil {
			return res
		}
		if err != nil {
			res.err = fmt.Sprintf("player after frame %d: %v", prev, err)
			return res
		}
		if ev.Kind != rtmpclient.EventMedia || ev.TypeID != 9 || len(ev.Payload) < 9 || ev.Payload[1] == 0 {
			continue // not a numbered frame (the sequence header's AVC packet type is 0)
		}
		num := int(binary.BigEndian.Uint32(ev.Payload[5:]))
		switch ev.Payload[0] >> 4 {
		case 1:
			res.keys++
			if prev >= 0 && num != prev+1 {
				res.gaps++
			}
		default:
			if prev < 0 || num != prev+1 {
				res.err = fmt.Sprintf("player got P-frame %d after frame %d: its GOP is broken", num, prev)
				return res
			}
		}
		prev = num
		seen.Store(int64(num))
	}
}

// waitUntil polls cond for at most d: for a state that may never come (the test then goes on).
func waitUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
