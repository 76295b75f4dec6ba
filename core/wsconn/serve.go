package wsconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// Serve runs the connection until it ends: frames are read on the calling goroutine and handed
// to handle in arrival order, and an error from handle closes the client (a *CloseError with
// its own code and reason). It returns why the connection ended, once the writer has stopped.
func (c *Conn) Serve(handle func(frame []byte) error) error {
	c.connectTime = time.AfterFunc(c.lim.WebConnectTimeout, func() { c.Close(ErrNoConnect) })
	c.idleTime = time.AfterFunc(c.lim.WebIdleTimeout/2, c.checkIdle)
	go c.writeLoop()
	c.Close(c.readLoop(handle))
	c.connectTime.Stop()
	c.idleTime.Stop()
	<-c.writerDone
	return c.Cause()
}

// readLoop reads without a context of its own: the writer ends the connection (with a close
// frame saying why when it can), which ends the read.
func (c *Conn) readLoop(handle func([]byte) error) error {
	bucket := tokenBucket{rate: c.lim.WebMessageRate, burst: float64(c.lim.WebMessageBurst)}
	bucket.tokens = bucket.burst
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if cause := c.Cause(); cause != nil {
				return cause
			}
			return fmt.Errorf("wsconn: read: %w", err)
		}
		now := time.Now()
		c.lastIn.Store(now.UnixNano())
		c.Stats.MsgIn.Add(1)
		c.Stats.BytesIn.Add(uint64(len(data)))
		if typ != websocket.MessageText {
			return ErrBinaryFrame
		}
		if !bucket.take(now) {
			return ErrFlood
		}
		if err := handle(data); err != nil {
			return err
		}
	}
}

// writeLoop writes the queue in order until the connection ends, then closes it: with a close
// frame saying why, unless the client is not reading (slow, silent, or a write failed).
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case <-c.ctx.Done():
			c.end(c.Cause())
			return
		case <-c.wake:
		}
		for _, it := range c.take() {
			if c.ctx.Err() != nil {
				c.end(c.Cause())
				return
			}
			if it.close != nil {
				c.Close(errClosedByUs)
				c.end(&CloseError{Code: it.close.code, Reason: it.close.reason, Err: errClosedByUs})
				return
			}
			if err := c.write(it); err != nil {
				c.Close(fmt.Errorf("wsconn: write: %w", err))
				c.end(err)
				return
			}
		}
	}
}

// write writes one item's frames, each within the write timeout.
func (c *Conn) write(it item) error {
	defer c.written(it.size)
	frames := [][]byte{it.frame}
	if it.render != nil {
		var err error
		if frames, err = it.render(); err != nil {
			c.log.Warn().Err(err).Msg("message to a WebSocket client dropped: cannot encode it")
			return nil
		}
	}
	for _, f := range frames {
		// Not under c.ctx: the library closes the connection when a write's context ends, which
		// would cut short the close frame that follows. A client cut off for not reading is
		// closed at once instead (Close), which ends a blocked write.
		ctx, cancel := context.WithTimeout(context.Background(), c.lim.WebWriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, f)
		cancel()
		if err != nil {
			return err
		}
		c.Stats.MsgOut.Add(1)
		c.Stats.BytesOut.Add(uint64(len(f)))
	}
	return nil
}

// end closes the WebSocket for cause: at once when the client does not read, else with the
// close handshake (bounded by the library's own timeouts).
func (c *Conn) end(cause error) {
	if errors.Is(cause, ErrSlow) || errors.Is(cause, ErrIdle) || !errors.Is(cause, errClosedByUs) && isTransportError(cause) {
		_ = c.ws.CloseNow()
		return
	}
	code, reason := closeCode(cause)
	if err := c.ws.Close(code, reason); err != nil {
		c.log.Debug().Err(err).Int("code", int(code)).Msg("close handshake")
	}
}

// isTransportError reports whether cause came from the socket (read or write failed) rather
// than from a decision about the client.
func isTransportError(cause error) bool {
	var ce *CloseError
	if errors.As(cause, &ce) {
		return false
	}
	for _, known := range []error{ErrFlood, ErrNoConnect, ErrBinaryFrame} {
		if errors.Is(cause, known) {
			return false
		}
	}
	return true
}

// checkIdle runs every half idle timeout: a client silent for the whole timeout is closed, one
// silent for half of it is pinged (its pong counts as something received).
func (c *Conn) checkIdle() {
	if c.ctx.Err() != nil {
		return
	}
	idle := time.Since(time.Unix(0, c.lastIn.Load()))
	if idle >= c.lim.WebIdleTimeout {
		c.Close(ErrIdle)
		return
	}
	if idle >= c.lim.WebIdleTimeout/2 && c.pinging.CompareAndSwap(false, true) {
		go c.ping()
	}
	c.idleTime.Reset(c.lim.WebIdleTimeout / 2)
}

// ping waits for one pong; without one in half the idle timeout the library closes the
// connection, which ends the read.
func (c *Conn) ping() {
	defer c.pinging.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), c.lim.WebIdleTimeout/2)
	defer cancel()
	start := time.Now()
	if c.ws.Ping(ctx) == nil {
		c.lastIn.Store(time.Now().UnixNano())
		c.Stats.PingRTT.Store(int64(time.Since(start)))
	}
}

// IsNormalClose reports whether err (Serve's result) is an ordinary end: the client or the
// server closed normally.
func IsNormalClose(err error) bool {
	var ce *CloseError
	if errors.As(err, &ce) && errors.Is(err, errClosedByUs) {
		return true
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return true
	}
	return errors.Is(err, errClosedByUs)
}

// tokenBucket bounds a client's frame rate; the reader goroutine owns it.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.rate < 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
