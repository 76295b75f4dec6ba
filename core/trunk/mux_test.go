package trunk

import (
	"sync"
	"testing"
	"time"
)

// unservedMux is a Mux over a Conn that is never served: Dispatch is driven by the test, acks
// and closes only queue up.
func unservedMux(t *testing.T) *Mux {
	el, _ := linkPair(t)
	return NewMux(NewConn(el, Config{SessionWindow: 1 << 20}, nil))
}

// recorder collects one session's callbacks and checks the Mux's promises: frames in order, at
// most one callback at a time, nothing after OnClose, OnClose exactly once.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	busy   bool
	got    []uint32
	closes int
	closed chan SessionClose
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, closed: make(chan SessionClose, 2)}
}

func (r *recorder) enter() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy {
		r.t.Error("two callbacks of one session at once")
	}
	if r.closes > 0 {
		r.t.Error("callback after OnClose")
	}
	r.busy = true
}

func (r *recorder) leave() { r.mu.Lock(); r.busy = false; r.mu.Unlock() }

func (r *recorder) funcs() SessionFuncs {
	return SessionFuncs{
		OnFrame: func(f Frame) {
			r.enter()
			defer r.leave()
			m, err := DecodeSessionMessage(f.Body)
			if err != nil {
				r.t.Errorf("decode: %v", err)
			}
			r.mu.Lock()
			r.got = append(r.got, m.Timestamp)
			r.mu.Unlock()
		},
		OnClose: func(m SessionClose) {
			r.enter()
			r.mu.Lock()
			r.closes++
			r.busy = false
			r.mu.Unlock()
			r.closed <- m
		},
	}
}

func messageFrame(id, ts uint32) Frame {
	return Frame{Kind: KindSessionMessage, ID: id, Body: SessionMessage{Type: 20, Timestamp: ts, Payload: []byte("x")}.AppendBody(nil)}
}

func closeFrame(id uint32, code uint16) Frame {
	return Frame{Kind: KindSessionClose, ID: id, Body: SessionClose{Code: code, Reason: "bye"}.AppendBody(nil)}
}

// waitIdle waits until the session has no drain goroutine (there is no event for a goroutine's
// exit, so this polls with a deadline).
func waitIdle(t *testing.T, m *Mux, id uint32) {
	t.Helper()
	s := m.lookup(id)
	if s == nil {
		t.Fatalf("session %d not open", id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		running, n := s.running, len(s.q)
		s.mu.Unlock()
		if !running && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d still draining", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMuxDeliversInOrderAcrossDrains: bursts and single frames, with the session going idle
// (no goroutine) between them, arrive complete and in order; the peer's close comes last.
func TestMuxDeliversInOrderAcrossDrains(t *testing.T) {
	t.Parallel()
	m := unservedMux(t)
	r := newRecorder(t)
	if err := m.Open(7, r.funcs()); err != nil {
		t.Fatal(err)
	}
	ts := uint32(0)
	for burst := range 50 {
		for range burst % 7 {
			m.Dispatch(messageFrame(7, ts))
			ts++
		}
		if burst%10 == 0 {
			waitIdle(t, m, 7)
		}
	}
	m.Dispatch(closeFrame(7, CodeNormal))
	if got := <-r.closed; got.Code != CodeNormal {
		t.Fatalf("close: %+v", got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) != int(ts) {
		t.Fatalf("delivered %d of %d frames", len(r.got), ts)
	}
	for i, v := range r.got {
		if v != uint32(i) {
			t.Fatalf("frame %d has timestamp %d: out of order", i, v)
		}
	}
}

// TestMuxIdleSessionHasNoGoroutine: once its frames are delivered a session keeps neither a
// goroutine nor queue storage, and a local close of an idle session still reports OnClose.
func TestMuxIdleSessionHasNoGoroutine(t *testing.T) {
	t.Parallel()
	m := unservedMux(t)
	r := newRecorder(t)
	if err := m.Open(3, r.funcs()); err != nil {
		t.Fatal(err)
	}
	if m.Dispatch(messageFrame(4, 0)) {
		t.Fatal("a frame for an unknown session was taken")
	}
	m.Dispatch(messageFrame(3, 1))
	waitIdle(t, m, 3)
	s := m.lookup(3)
	s.mu.Lock()
	q, unacked := s.q, s.unacked
	s.mu.Unlock()
	if q != nil || unacked != 0 {
		t.Fatalf("idle session keeps queue %v, %d unacknowledged bytes", q, unacked)
	}
	if err := m.Close(3, CodeShutdown, "test"); err != nil {
		t.Fatal(err)
	}
	if got := <-r.closed; got.Code != CodeShutdown {
		t.Fatalf("close: %+v", got)
	}
	if m.Dispatch(messageFrame(3, 2)) || m.Len() != 0 {
		t.Fatal("closed session still routed")
	}
}

// TestMuxCloseAllRacesDelivery: closing every session while frames pour in calls OnClose
// exactly once per session and nothing after it (the recorder fails the test otherwise).
func TestMuxCloseAllRacesDelivery(t *testing.T) {
	t.Parallel()
	m := unservedMux(t)
	const sessions = 20
	rs := make([]*recorder, sessions)
	for i := range rs {
		rs[i] = newRecorder(t)
		if err := m.Open(uint32(i+1), rs[i].funcs()); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range 200 {
			for i := range sessions {
				m.Dispatch(messageFrame(uint32(i+1), uint32(n)))
			}
		}
	}()
	m.CloseAll(CodeShutdown, "trunk down")
	<-done
	for i, r := range rs {
		if got := <-r.closed; got.Code != CodeShutdown {
			t.Fatalf("session %d close: %+v", i+1, got)
		}
	}
}
