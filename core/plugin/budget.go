package plugin

import (
	"context"
	"sync"
	"time"
)

// budgetCtx is the context of one module call: its deadline is the module's budget. Most auth
// modules never wait on anything (a token check), so the timer behind Done is made only when a
// module asks for Done; context.WithTimeout would arm one for every request of every client.
type budgetCtx struct {
	deadline time.Time

	once  sync.Once
	done  chan struct{}
	timer *time.Timer
	mu    sync.Mutex
	err   error
}

func newBudgetCtx(budget time.Duration) *budgetCtx {
	return &budgetCtx{deadline: time.Now().Add(budget)}
}

func (c *budgetCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *budgetCtx) Value(any) any               { return nil }

// Done makes the channel on first use, closed at the deadline or by cancel.
func (c *budgetCtx) Done() <-chan struct{} {
	c.once.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
			return
		}
		c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func (c *budgetCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
	}
	return c.err
}

// end records why the context ended and closes Done if it was made.
func (c *budgetCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && c.done == nil {
		return
	}
	if c.err == nil {
		c.err = err
	}
	if c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
}

// cancel ends the call's context once the module answered.
func (c *budgetCtx) cancel() {
	c.mu.Lock()
	t := c.timer
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	c.end(context.Canceled)
}
