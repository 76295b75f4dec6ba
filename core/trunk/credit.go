package trunk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Flow-control errors.
var (
	// ErrBackpressure: the session's send credit is used up; the peer has not yet consumed what
	// was sent. The caller pauses that one session (stop reading its client, or queue in the app).
	ErrBackpressure = errors.New("trunk: session credit exhausted")
	// ErrUnknownSession: no credit is known for the id (never opened, rejected, or closed).
	ErrUnknownSession = errors.New("trunk: unknown session")
)

// credit is the send side of one session's window. A message may be sent when it fits in the
// credit left, or when nothing at all is outstanding (so a message larger than the window still
// goes, alone). The receiver can therefore hold at most max(window, one message) unacknowledged.
type credit struct {
	avail  atomic.Int64
	window int64
	mu     sync.Mutex
	ready  chan struct{} // signalled when credit comes back; made by the first WaitCredit
}

// waitChan returns the channel an acknowledgement signals, making it on first use: most
// sessions never wait (an idle edge client's does not), and a channel costs each of them 96
// bytes.
func (c *credit) waitChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{}, 1)
	}
	return c.ready
}

// signal wakes a WaitCredit, if one ever waited.
func (c *credit) signal() {
	c.mu.Lock()
	ch := c.ready
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (c *credit) fits(cost int64) bool {
	v := c.avail.Load()
	return cost <= v || v == c.window
}

func (c *credit) take(cost int64) bool {
	for {
		v := c.avail.Load()
		if cost > v && v != c.window {
			return false
		}
		if c.avail.CompareAndSwap(v, v-cost) {
			return true
		}
	}
}

// credits maps session id → send credit. Sessions are added and removed rarely and looked up on
// every session send, from many goroutines: a map under a read-write lock, which costs an idle
// session a few dozen bytes (a sync.Map entry costs about a hundred).
type credits struct {
	mu sync.RWMutex
	m  map[uint32]*credit
}

func (cs *credits) open(id uint32, window uint32) {
	c := &credit{window: int64(window)}
	c.avail.Store(int64(window))
	cs.mu.Lock()
	if cs.m == nil {
		cs.m = make(map[uint32]*credit)
	}
	cs.m[id] = c
	cs.mu.Unlock()
}

func (cs *credits) forget(id uint32) {
	cs.mu.Lock()
	delete(cs.m, id)
	cs.mu.Unlock()
}

func (cs *credits) get(id uint32) *credit {
	cs.mu.RLock()
	c := cs.m[id]
	cs.mu.RUnlock()
	return c
}

func (cs *credits) ack(id uint32, n uint32) {
	if c := cs.get(id); c != nil {
		c.avail.Add(int64(n))
		c.signal()
	}
}

// Available reports a session's remaining send credit in bytes (false if the session is unknown).
func (c *Conn) Available(id uint32) (int64, bool) {
	cr := c.credits.get(id)
	if cr == nil {
		return 0, false
	}
	return cr.avail.Load(), true
}

// track updates credit bookkeeping for a session frame crossing the trunk in either direction.
// A peer's window arrives with SessionOpen (we are the origin) or an accepting SessionVerdict (we
// are the edge); a reject or a close ends it.
func (c *Conn) track(k Kind, id uint32, body []byte) {
	switch k {
	case KindSessionOpen, KindSessionVerdict:
		if len(body) < 4 {
			return
		}
		if k == KindSessionVerdict && (len(body) < 5 || body[4] != VerdictAccept) {
			c.credits.forget(id)
			return
		}
		c.credits.open(id, binary.BigEndian.Uint32(body))
	case KindSessionClose:
		c.credits.forget(id)
	}
}

// WaitCredit blocks until a session message with a payload of n bytes may be sent on session id,
// or ctx ends, or the trunk does. It is how a paused session resumes (e.g. the edge starts
// reading its client again) without polling. Meant for the one goroutine that sends on the session.
func (c *Conn) WaitCredit(ctx context.Context, id uint32, n int) error {
	cost := int64(HeaderSize + 9 + n)
	for {
		cr := c.credits.get(id)
		if cr == nil {
			return fmt.Errorf("%w: %d", ErrUnknownSession, id)
		}
		ready := cr.waitChan() // before the check: an ack after it signals the channel
		if cr.fits(cost) {
			return nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err()
		}
	}
}
