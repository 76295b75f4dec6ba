package trunk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// linkPair runs the handshake over loopback TCP and returns (edge, origin) links.
func linkPair(t testing.TB) (*Link, *Link) {
	t.Helper()
	cc, sc := tcpPair(t)
	done := make(chan hsResult, 1)
	go func() {
		l, err := ServerHandshake(sc, HandshakeConfig{ID: "origin", Secret: []byte("k")})
		done <- hsResult{l, err}
	}()
	el, err := ClientHandshake(cc, HandshakeConfig{ID: "edge", Secret: []byte("k")})
	o := <-done
	if err != nil || o.err != nil {
		t.Fatalf("handshake: %v / %v", err, o.err)
	}
	return el, o.link
}

// serve starts c and returns a channel with Serve's result; the conn is closed at cleanup.
func serve(t testing.TB, c *Conn) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(context.Background()) }()
	t.Cleanup(func() { c.Close(); <-c.Done() })
	return errc
}

// originEcho is an origin that accepts every session and echoes every session message back;
// hold, if non-nil, is called first for each message (to stall a session).
type originEcho struct {
	c      *Conn
	mux    *Mux
	hold   func(id uint32)
	closed sync.Map // id → SessionClose
}

func (o *originEcho) handle(f Frame) error {
	if o.mux.Dispatch(f) {
		return nil
	}
	if f.Kind != KindSessionOpen {
		return nil
	}
	id := f.ID
	err := o.mux.Open(id, SessionFuncs{
		OnFrame: func(f Frame) {
			if o.hold != nil {
				o.hold(id)
			}
			m, err := DecodeSessionMessage(f.Body)
			if err == nil {
				_ = sendRetry(context.Background(), o.c, id, m)
			}
		},
		OnClose: func(m SessionClose) { o.closed.Store(id, m) },
	})
	if err != nil {
		return err
	}
	return o.c.Send(id, SessionVerdict{Status: VerdictAccept})
}

// sendRetry sends a session message, waiting for credit when the session is backpressured.
func sendRetry(ctx context.Context, c *Conn, id uint32, m SessionMessage) error {
	for {
		err := c.SendSession(id, m)
		if !errors.Is(err, ErrBackpressure) {
			return err
		}
		if err := c.WaitCredit(ctx, id, len(m.Payload)); err != nil {
			return err
		}
	}
}

type edgeSession struct {
	verdict chan struct{}
	echoes  chan int
	closed  chan SessionClose
}

// openSessions opens n sessions from the edge and waits for their verdicts.
func openSessions(t *testing.T, c *Conn, mux *Mux, n int) []*edgeSession {
	t.Helper()
	ss := make([]*edgeSession, n)
	for i := range ss {
		s := &edgeSession{verdict: make(chan struct{}), echoes: make(chan int, 1<<12), closed: make(chan SessionClose, 1)}
		ss[i] = s
		id := uint32(i + 1)
		err := mux.Open(id, SessionFuncs{
			OnFrame: func(f Frame) {
				switch f.Kind {
				case KindSessionVerdict:
					close(s.verdict)
				case KindSessionMessage:
					m, _ := DecodeSessionMessage(f.Body)
					s.echoes <- int(m.Timestamp)
				}
			},
			OnClose: func(m SessionClose) { s.closed <- m },
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Send(id, SessionOpen{EdgeID: "edge", ClientAddr: fmt.Sprintf("10.0.0.%d:1000", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range ss {
		select {
		case <-s.verdict:
		case <-time.After(10 * time.Second):
			t.Fatal("no verdict")
		}
	}
	return ss
}

type pair struct {
	edge, origin       *Conn
	edgeMux            *Mux
	origin2            *originEcho
	edgeErr, originErr <-chan error
	media              atomic.Int64
}

func newPair(t *testing.T, cfg Config, hold func(id uint32)) *pair {
	el, ol := linkPair(t)
	p := &pair{}
	p.edge = NewConn(el, cfg, func(f Frame) error {
		if p.edgeMux.Dispatch(f) {
			return nil
		}
		if f.Kind == KindStreamMedia {
			p.media.Add(1)
		}
		return nil
	})
	p.edgeMux = NewMux(p.edge)
	p.origin2 = &originEcho{hold: hold}
	p.origin = NewConn(ol, cfg, p.origin2.handle)
	p.origin2.c, p.origin2.mux = p.origin, NewMux(p.origin)
	p.edgeErr, p.originErr = serve(t, p.edge), serve(t, p.origin)
	return p
}

func TestLoopbackManySessions(t *testing.T) {
	t.Parallel()
	const sessions, perSession, mediaFrames = 100, 60, 3000
	p := newPair(t, Config{SessionWindow: 2048}, nil)
	ss := openSessions(t, p.edge, p.edgeMux, sessions)
	payload := make([]byte, 100)
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uint32(i + 1)
			for n := range perSession {
				m := SessionMessage{Type: 20, StreamID: 1, Timestamp: uint32(n), Payload: payload}
				if err := sendRetry(context.Background(), p.edge, id, m); err != nil {
					t.Errorf("session %d: %v", id, err)
					return
				}
			}
			for n := range perSession {
				select {
				case got := <-s.echoes:
					if got != n {
						t.Errorf("session %d: echo %d out of order, want %d", id, got, n)
						return
					}
				case <-time.After(10 * time.Second):
					t.Errorf("session %d: echo %d missing", id, n)
					return
				}
			}
		}()
	}
	media := make([]byte, 1000)
	for i := range mediaFrames {
		if p.origin.SendMedia(1, StreamMedia{Type: 9, Timestamp: uint32(i), Payload: media}) != nil {
			t.Fatal("media queue full")
		}
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for p.media.Load() < mediaFrames && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // media has no per-frame completion event to await
	}
	if got := p.media.Load(); got != mediaFrames {
		t.Fatalf("media: got %d of %d", got, mediaFrames)
	}
	st := p.edge.Stats()
	t.Logf("edge stats: %+v", st)
}

func TestStalledSessionDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	const sessions, perSession = 20, 200
	release := make(chan struct{})
	p := newPair(t, Config{SessionWindow: 4096}, func(id uint32) {
		if id == 1 {
			<-release // this session's consumer never reads (until the test ends)
		}
	})
	t.Cleanup(func() { close(release) })
	ss := openSessions(t, p.edge, p.edgeMux, sessions)
	payload := make([]byte, 200)
	// Session 1: send until the trunk reports backpressure.
	var stalledAfter int
	for n := 0; ; n++ {
		err := p.edge.SendSession(1, SessionMessage{Type: 20, Timestamp: uint32(n), Payload: payload})
		if errors.Is(err, ErrBackpressure) {
			stalledAfter = n
			break
		}
		if err != nil || n > 1000 {
			t.Fatalf("session 1 never backpressured: %v", err)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 1; i < sessions; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uint32(i + 1)
			for n := range perSession {
				m := SessionMessage{Type: 20, Timestamp: uint32(n), Payload: payload}
				if err := sendRetry(context.Background(), p.edge, id, m); err != nil {
					t.Errorf("session %d: %v", id, err)
					return
				}
				select {
				case <-ss[i].echoes:
				case <-time.After(10 * time.Second):
					t.Errorf("session %d: echo %d missing", id, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("session 1 stalled after %d messages; %d other sessions x %d round trips took %v",
		stalledAfter, sessions-1, perSession, time.Since(start))
	if err := p.edge.SendSession(1, SessionMessage{Payload: payload}); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("stalled session: got %v, want backpressure", err)
	}
}

func TestOverflowClosesOnlyThatSession(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	p := newPair(t, Config{SessionWindow: 1024}, func(id uint32) {
		if id == 1 {
			<-release
		}
	})
	t.Cleanup(func() { close(release) })
	ss := openSessions(t, p.edge, p.edgeMux, 2)
	payload := make([]byte, 300)
	for n := range 10 { // a peer ignoring credit: bypass SendSession's accounting
		if err := p.edge.sendCtrl(1, SessionMessage{Timestamp: uint32(n), Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-ss[0].closed:
		if m.Code != CodeOverflow {
			t.Fatalf("close: %+v", m)
		}
		t.Logf("session 1 closed: %+v", m)
	case <-time.After(10 * time.Second):
		t.Fatal("overflowing session was not closed")
	}
	if err := sendRetry(context.Background(), p.edge, 2, SessionMessage{Timestamp: 7, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-ss[1].echoes:
		if n != 7 {
			t.Fatalf("echo %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("other session stopped")
	}
}

func TestHeartbeatLossDetected(t *testing.T) {
	t.Parallel()
	el, ol := linkPair(t)
	go io.Copy(io.Discard, ol.Reader) // a peer that reads but never answers
	c := NewConn(el, Config{HeartbeatInterval: 20 * time.Millisecond, DeadAfter: 150 * time.Millisecond}, func(Frame) error { return nil })
	start := time.Now()
	select {
	case err := <-serve(t, c):
		if !errors.Is(err, ErrPeerDead) {
			t.Fatalf("got %v", err)
		}
		t.Logf("declared dead after %v", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("silent peer not detected")
	}
}

// TestHeartbeatKeepsIdleTrunkAlive: an idle trunk carries pings and pongs and stays up. The
// dead-after bound is generous because this machine's CPU is shared (stalls of 100s of ms happen).
func TestHeartbeatKeepsIdleTrunkAlive(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{HeartbeatInterval: 10 * time.Millisecond, DeadAfter: 3 * time.Second}, nil)
	const frames = 20 // pings and pongs received by the edge
	deadline := time.Now().Add(10 * time.Second)
	for p.edge.Stats().BytesIn < frames*(HeaderSize+8) {
		select {
		case err := <-p.edgeErr:
			t.Fatalf("idle trunk died: %v", err)
		case <-time.After(5 * time.Millisecond): // no per-ping event to await
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeats not flowing: %+v", p.edge.Stats())
		}
	}
	if p.edge.Stats().RTT <= 0 || p.origin.Stats().RTT <= 0 {
		t.Fatalf("no RTT measured: %+v / %+v", p.edge.Stats(), p.origin.Stats())
	}
}

func TestPeerCloseEndsServe(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{}, nil)
	p.origin.Close()
	select {
	case err := <-p.edgeErr:
		if !errors.Is(err, ErrPeer) && err == nil {
			t.Fatalf("got %v", err)
		}
		t.Logf("edge saw: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("edge did not notice")
	}
	if err := <-p.originErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("origin: %v", err)
	}
}

func TestControlOvertakesMediaBacklog(t *testing.T) {
	t.Parallel()
	const frames = 4000 // 16 MiB of 4 KiB media queued before the control frame
	el, ol := linkPair(t)
	var media atomic.Int64
	seenAt := make(chan int64, 1)
	edge := NewConn(el, Config{}, func(f Frame) error {
		switch f.Kind {
		case KindStreamMedia:
			media.Add(1)
		case KindStreamStatus:
			seenAt <- media.Load()
		}
		return nil
	})
	origin := NewConn(ol, Config{MaxMediaBytes: 32 << 20}, func(Frame) error { return nil })
	serve(t, edge)
	serve(t, origin)
	payload := make([]byte, 4096)
	for i := range frames { // a burst far faster than the link drains
		if err := origin.SendMedia(1, StreamMedia{Type: 9, Timestamp: uint32(i), Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	queued, before := origin.Stats().QueuedMedia, media.Load()
	if err := origin.Send(1, StreamStatus{Code: StreamUnpublished}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d media bytes queued, %d frames received when the control frame was sent", queued, before)
	select {
	case n := <-seenAt:
		t.Logf("control frame arrived after %d of %d media frames", n, frames)
		if n > frames-frames/8 { // the socket buffers hold many frames; the queue must not
			t.Fatalf("control waited behind %d media frames", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("control frame never arrived")
	}
}

func TestAppendMediaFrameMatches(t *testing.T) {
	t.Parallel()
	m := StreamMedia{Type: 8, Timestamp: 99, Payload: []byte{1, 2, 3}}
	e := mediaEntry(5, m, 0)
	queued := append(e.hdr[:e.hn:e.hn], e.data...)
	if a, b := AppendMediaFrame(nil, 5, m), AppendFrame(nil, 5, m); string(a) != string(b) || string(a) != string(queued) {
		t.Fatalf("%x / %x / %x", a, b, queued)
	}
}
