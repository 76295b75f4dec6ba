package trunk

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// SessionFuncs are one session's callbacks. Both run on the session's own goroutine, in arrival
// order, so a session's handler needs no locking and a slow one delays only itself.
type SessionFuncs struct {
	OnFrame func(f Frame)        // SessionVerdict, SessionMessage, or Error for the session; Body is a private copy
	OnClose func(m SessionClose) // exactly once, after the last OnFrame
}

// Mux routes session frames from the read goroutine to per-session goroutines through per-session
// queues bounded by the session window, and returns credit to the peer as frames are consumed.
//
// The overflow rule: a session's queue may hold at most the window this side announced
// (Conn.SessionWindow; send SessionOpen/SessionVerdict with Window 0 when using a Mux), or one
// message of any size when nothing is unacknowledged. A peer that respects credit never exceeds
// it. When a message would exceed it, the session is closed at once with CodeOverflow: its queued
// frames are dropped, the peer gets SessionClose, and OnClose reports the overflow. The read
// goroutine never waits for a session.
type Mux struct {
	c        *Conn
	window   int64
	sessions sync.Map // uint32 → *muxSession; written on open/close, read per frame
}

// NewMux routes the session frames of c.
func NewMux(c *Conn) *Mux {
	return &Mux{c: c, window: int64(c.SessionWindow())}
}

type muxSession struct {
	id      uint32
	fns     SessionFuncs
	mu      sync.Mutex
	q       []Frame
	unacked int64         // bytes received and not yet acknowledged
	closing *SessionClose // deliver what is queued, then OnClose
	abort   atomic.Pointer[SessionClose]
	wake    chan struct{}
}

// Open registers a session and starts its goroutine. The edge opens before sending SessionOpen
// (so the verdict finds it); the origin opens when SessionOpen arrives, from the handler.
func (m *Mux) Open(id uint32, fns SessionFuncs) error {
	s := &muxSession{id: id, fns: fns, wake: make(chan struct{}, 1)}
	if _, loaded := m.sessions.LoadOrStore(id, s); loaded {
		return fmt.Errorf("trunk: session %d already open", id)
	}
	go m.run(s)
	return nil
}

// Dispatch takes a frame from the Conn's Handler. It reports false for frames that are not for
// an open session (stream frames, SessionOpen, unknown ids): the caller handles those.
func (m *Mux) Dispatch(f Frame) bool {
	switch f.Kind {
	case KindSessionMessage, KindSessionVerdict, KindSessionClose, KindError:
	default:
		return false
	}
	v, ok := m.sessions.Load(f.ID)
	if !ok {
		return false
	}
	s := v.(*muxSession)
	switch f.Kind {
	case KindSessionClose:
		m.peerClosed(s, f)
	case KindSessionMessage:
		m.enqueueMessage(s, f)
	default:
		s.push(copyFrame(f), 0)
	}
	return true
}

func (m *Mux) peerClosed(s *muxSession, f Frame) {
	msg, err := DecodeSessionClose(f.Body)
	if err != nil {
		msg = SessionClose{Code: CodeProtocol, Reason: err.Error()}
	}
	m.sessions.Delete(s.id)
	s.mu.Lock()
	s.closing = &msg
	s.mu.Unlock()
	s.signal()
}

func (m *Mux) enqueueMessage(s *muxSession, f Frame) {
	cost := int64(HeaderSize + len(f.Body))
	s.mu.Lock()
	over := s.unacked > 0 && s.unacked+cost > m.window
	s.mu.Unlock()
	if over {
		reason := fmt.Sprintf("inbound queue full: more than %d unacknowledged bytes", m.window)
		_ = m.Close(s.id, CodeOverflow, reason)
		return
	}
	s.push(copyFrame(f), cost)
}

// Close ends a session from this side: the peer gets SessionClose, queued frames are dropped and
// OnClose is called with this code and reason.
func (m *Mux) Close(id uint32, code uint16, reason string) error {
	v, ok := m.sessions.LoadAndDelete(id)
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownSession, id)
	}
	s := v.(*muxSession)
	s.abort.Store(&SessionClose{Code: code, Reason: reason})
	s.signal()
	return m.c.Send(id, SessionClose{Code: code, Reason: reason})
}

// CloseAll ends every session locally (the trunk is gone; nothing is sent).
func (m *Mux) CloseAll(code uint16, reason string) {
	m.sessions.Range(func(k, v any) bool {
		m.sessions.Delete(k)
		s := v.(*muxSession)
		s.abort.Store(&SessionClose{Code: code, Reason: reason})
		s.signal()
		return true
	})
}

// Len counts open sessions.
func (m *Mux) Len() int {
	n := 0
	m.sessions.Range(func(any, any) bool { n++; return true })
	return n
}

func copyFrame(f Frame) Frame {
	f.Body = append([]byte(nil), f.Body...)
	return f
}

func (s *muxSession) push(f Frame, cost int64) {
	s.mu.Lock()
	s.q = append(s.q, f)
	s.unacked += cost
	s.mu.Unlock()
	s.signal()
}

func (s *muxSession) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the session's goroutine: it drains the queue in batches, acknowledges each batch's bytes
// in one SessionAck, and ends with OnClose.
func (m *Mux) run(s *muxSession) {
	var spare []Frame
	for range s.wake {
		s.mu.Lock()
		batch, closing := s.q, s.closing
		s.q = spare[:0]
		s.mu.Unlock()
		consumed, aborted := m.deliver(s, batch)
		clear(batch)
		spare = batch
		if aborted != nil {
			s.fns.OnClose(*aborted)
			return
		}
		if closing != nil {
			s.fns.OnClose(*closing)
			return
		}
		if consumed > 0 {
			s.mu.Lock()
			s.unacked -= consumed
			s.mu.Unlock()
			_ = m.c.Ack(s.id, uint32(consumed))
		}
	}
}

func (m *Mux) deliver(s *muxSession, batch []Frame) (consumed int64, aborted *SessionClose) {
	for _, f := range batch {
		if a := s.abort.Load(); a != nil {
			return consumed, a
		}
		s.fns.OnFrame(f)
		if f.Kind == KindSessionMessage {
			consumed += int64(HeaderSize + len(f.Body))
		}
	}
	return consumed, s.abort.Load()
}
