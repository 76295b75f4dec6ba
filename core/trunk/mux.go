package trunk

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// SessionFuncs are one session's callbacks. They run one at a time, in arrival order, on a
// goroutine of the session's own (started while frames are pending, gone while the session is
// idle), so a session's handler needs no locking and a slow one delays only itself.
type SessionFuncs struct {
	OnFrame func(f Frame)        // SessionVerdict, StreamVerdict, SessionMessage, or Error for the session (or what Deliver queued); Body is a private copy
	OnClose func(m SessionClose) // exactly once, after the last OnFrame
}

// Mux routes session frames from the read goroutine to the sessions' handlers through
// per-session queues bounded by the session window, and returns credit to the peer as frames are
// consumed. A session has a goroutine only while it has frames to deliver: an idle session (the
// common case on an edge holding thousands of quiet clients) costs a queue and no stack.
//
// The overflow rule: a session's queue may hold at most the window this side announced
// (Conn.SessionWindow; send SessionOpen/SessionVerdict with Window 0 when using a Mux), or one
// message of any size when nothing is unacknowledged. A peer that respects credit never exceeds
// it. When a message would exceed it, the session is closed at once with CodeOverflow: its queued
// frames are dropped, the peer gets SessionClose, and OnClose reports the overflow. The read
// goroutine never waits for a session.
type Mux struct {
	c      *Conn
	window int64
	// sessions is read per session frame by the read goroutine and written on open and close: a
	// plain map under a mutex costs an idle session a few dozen bytes where a sync.Map entry
	// costs about a hundred.
	mu       sync.Mutex
	sessions map[uint32]*muxSession
}

// NewMux routes the session frames of c.
func NewMux(c *Conn) *Mux {
	return &Mux{c: c, window: int64(c.SessionWindow()), sessions: make(map[uint32]*muxSession)}
}

func (m *Mux) lookup(id uint32) *muxSession {
	m.mu.Lock()
	s := m.sessions[id]
	m.mu.Unlock()
	return s
}

// remove unregisters a session and returns it (nil if it was not open).
func (m *Mux) remove(id uint32) *muxSession {
	m.mu.Lock()
	s := m.sessions[id]
	delete(m.sessions, id)
	m.mu.Unlock()
	return s
}

// muxSession is one session's queue. mu guards everything but id, fns and abort; the drain
// goroutine (at most one at a time: running) owns the frames it took from q.
type muxSession struct {
	id      uint32
	fns     SessionFuncs
	mu      sync.Mutex
	q       []Frame
	unacked int64         // bytes received and not yet acknowledged
	closing *SessionClose // deliver what is queued, then OnClose
	abort   atomic.Pointer[SessionClose]
	running bool          // a drain goroutine is active
	ended   bool          // OnClose has been called or is being called
	kick    chan struct{} // wakes a lingering drain goroutine (made while it lingers)
}

// drainLinger is how long a drain goroutine waits for more frames before it exits. A session in
// a conversation (a call every few milliseconds) keeps its goroutine instead of starting one per
// frame, whose stack growth costs more than the delivery; an idle session still holds none.
const drainLinger = 20 * time.Millisecond

// wakeLocked tells a lingering drain goroutine that there is work; callers hold s.mu.
func (s *muxSession) wakeLocked() {
	if s.running && s.kick != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Open registers a session. The edge opens before sending SessionOpen (so the verdict finds it);
// the origin opens when SessionOpen arrives, from the handler.
func (m *Mux) Open(id uint32, fns SessionFuncs) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[id] != nil {
		return fmt.Errorf("trunk: session %d already open", id)
	}
	m.sessions[id] = &muxSession{id: id, fns: fns}
	return nil
}

// Dispatch takes a frame from the Conn's Handler. It reports false for frames that are not for
// an open session (stream frames, SessionOpen, unknown ids): the caller handles those.
func (m *Mux) Dispatch(f Frame) bool {
	switch f.Kind {
	case KindSessionMessage, KindSessionVerdict, KindStreamVerdict, KindSessionClose, KindError:
	default:
		return false
	}
	s := m.lookup(f.ID)
	if s == nil {
		return false
	}
	switch f.Kind {
	case KindSessionClose:
		m.peerClosed(s, f)
	case KindSessionMessage:
		m.enqueueMessage(s, f)
	default:
		m.push(s, copyFrame(f), 0)
	}
	return true
}

// Deliver queues f for session id's handler as if it had arrived for it (the origin hands a
// session its own SessionOpen, so that the connect runs on the session's goroutine, ahead of
// everything else the edge sends for it). It costs no credit. False if the session is not open.
func (m *Mux) Deliver(id uint32, f Frame) bool {
	s := m.lookup(id)
	if s == nil {
		return false
	}
	m.push(s, copyFrame(f), 0)
	return true
}

func (m *Mux) peerClosed(s *muxSession, f Frame) {
	msg, err := DecodeSessionClose(f.Body)
	if err != nil {
		msg = SessionClose{Code: CodeProtocol, Reason: err.Error()}
	}
	m.remove(s.id)
	s.mu.Lock()
	s.closing = &msg
	s.wakeLocked()
	start := s.startLocked()
	s.mu.Unlock()
	m.maybeStart(s, start)
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
	m.push(s, copyFrame(f), cost)
}

// Close ends a session from this side: the peer gets SessionClose, queued frames are dropped and
// OnClose is called with this code and reason.
func (m *Mux) Close(id uint32, code uint16, reason string) error {
	s := m.remove(id)
	if s == nil {
		return fmt.Errorf("%w: %d", ErrUnknownSession, id)
	}
	m.abort(s, &SessionClose{Code: code, Reason: reason})
	return m.c.Send(id, SessionClose{Code: code, Reason: reason})
}

// CloseAll ends every session locally (the trunk is gone; nothing is sent).
func (m *Mux) CloseAll(code uint16, reason string) {
	m.mu.Lock()
	all := m.sessions
	m.sessions = make(map[uint32]*muxSession)
	m.mu.Unlock()
	for _, s := range all {
		m.abort(s, &SessionClose{Code: code, Reason: reason})
	}
}

func (m *Mux) abort(s *muxSession, why *SessionClose) {
	s.abort.Store(why)
	s.mu.Lock()
	s.wakeLocked()
	start := s.startLocked()
	s.mu.Unlock()
	m.maybeStart(s, start)
}

// Len counts open sessions.
func (m *Mux) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

func copyFrame(f Frame) Frame {
	f.Body = append([]byte(nil), f.Body...)
	return f
}

func (m *Mux) push(s *muxSession, f Frame, cost int64) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.q = append(s.q, f)
	s.unacked += cost
	s.wakeLocked()
	start := s.startLocked()
	s.mu.Unlock()
	m.maybeStart(s, start)
}

// startLocked claims the drain for the caller when no goroutine is draining and the session has
// not ended: exactly one goroutine delivers at a time, so frames stay in order.
func (s *muxSession) startLocked() bool {
	if s.running || s.ended {
		return false
	}
	s.running = true
	return true
}

func (m *Mux) maybeStart(s *muxSession, start bool) {
	if start {
		go m.drain(s)
	}
}

// drain delivers the session's queue in batches, acknowledges each batch's bytes in one
// SessionAck, and returns once the queue is empty (or after OnClose). The check for more work
// and the release of running happen under one lock, so no frame is left behind undelivered.
func (m *Mux) drain(s *muxSession) {
	var spare []Frame
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	lingered := false
	for {
		s.mu.Lock()
		batch, closing := s.q, s.closing
		idle := len(batch) == 0 && closing == nil && s.abort.Load() == nil
		if idle && lingered {
			s.q, s.running, s.kick = nil, false, nil // an idle session keeps no queue storage
			s.mu.Unlock()
			return
		}
		if idle {
			if s.kick == nil {
				s.kick = make(chan struct{}, 1)
			}
			kick := s.kick
			s.mu.Unlock()
			linger = waitKick(kick, linger)
			lingered = linger == nil
			continue
		}
		s.q = spare[:0]
		s.mu.Unlock()
		if !m.deliverBatch(s, batch, closing) {
			return
		}
		clear(batch)
		spare = batch
		lingered = false
	}
}

// waitKick waits up to drainLinger for kick, reusing t; it returns nil when the time ran out
// (the timer is spent) and the timer when kicked.
func waitKick(kick <-chan struct{}, t *time.Timer) *time.Timer {
	if t == nil {
		t = time.NewTimer(drainLinger)
	} else {
		t.Reset(drainLinger)
	}
	select {
	case <-kick:
		t.Stop()
		return t
	case <-t.C:
		return nil
	}
}

// deliverBatch hands one batch to the handler; false when the session has ended.
func (m *Mux) deliverBatch(s *muxSession, batch []Frame, closing *SessionClose) bool {
	consumed, end := m.deliver(s, batch)
	if end == nil {
		end = closing // the peer's close comes after everything it sent before it
	}
	if end != nil {
		s.mu.Lock()
		s.ended, s.q = true, nil
		s.mu.Unlock()
		m.safeClose(s, *end)
		return false
	}
	if consumed > 0 {
		s.mu.Lock()
		s.unacked -= consumed
		s.mu.Unlock()
		_ = m.c.Ack(s.id, uint32(consumed))
	}
	return true
}

func (m *Mux) deliver(s *muxSession, batch []Frame) (consumed int64, aborted *SessionClose) {
	for _, f := range batch {
		if a := s.abort.Load(); a != nil {
			return consumed, a
		}
		if !m.safeFrame(s, f) {
			return consumed, s.abort.Load()
		}
		if f.Kind == KindSessionMessage {
			consumed += int64(HeaderSize + len(f.Body))
		}
	}
	return consumed, s.abort.Load()
}

// safeFrame runs the session's OnFrame. A panic there is that session's end, not the trunk's or
// the process's: it is logged with its stack and the session is closed with CodeInternal (the
// peer is told, OnClose follows); false then.
func (m *Mux) safeFrame(s *muxSession, f Frame) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			m.c.log.Error().Uint32("session", s.id).Str("kind", f.Kind.String()).Str("panic", fmt.Sprint(r)).
				Str("stack", string(debug.Stack())).Msg("session handler panicked: session closed")
			_ = m.Close(s.id, CodeInternal, "internal error")
			ok = false
		}
	}()
	s.fns.OnFrame(f)
	return true
}

// safeClose runs the session's OnClose; a panic there is logged with its stack.
func (m *Mux) safeClose(s *muxSession, end SessionClose) {
	defer func() {
		if r := recover(); r != nil {
			m.c.log.Error().Uint32("session", s.id).Str("panic", fmt.Sprint(r)).
				Str("stack", string(debug.Stack())).Msg("session close handler panicked")
		}
	}()
	s.fns.OnClose(end)
}
