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
	ready  chan struct{} // signalled when credit comes back
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

// credits maps session id → send credit. sync.Map: sessions are added and removed rarely, read on
// every send from many goroutines, and never need a lock over the whole map.
type credits struct{ m sync.Map }

func (cs *credits) open(id uint32, window uint32) {
	c := &credit{window: int64(window), ready: make(chan struct{}, 1)}
	c.avail.Store(int64(window))
	cs.m.Store(id, c)
}

func (cs *credits) forget(id uint32) { cs.m.Delete(id) }

func (cs *credits) get(id uint32) *credit {
	v, ok := cs.m.Load(id)
	if !ok {
		return nil
	}
	return v.(*credit)
}

func (cs *credits) ack(id uint32, n uint32) {
	if c := cs.get(id); c != nil {
		c.avail.Add(int64(n))
		select {
		case c.ready <- struct{}{}:
		default:
		}
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
		if cr.fits(cost) {
			return nil
		}
		select {
		case <-cr.ready:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err()
		}
	}
}
