package rtmpconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/fmsgo/fmsgo/core/chunk"
)

// writeSide is the socket's write side: the chunk writer, the buffers being written and what a
// non-blocking write left unwritten. It is guarded by mu, held only by whoever is writing: the
// connection's writer goroutine, or a producer (a stream hub delivering media) that finds the
// socket idle and writes at once. Writing from the producer saves a goroutine wake-up and
// switch per message per player — the main cost of fan-out — and a socket that cannot take the
// bytes at once is handed to the writer goroutine, so a producer never blocks on a slow client.
type writeSide struct {
	mu         sync.Mutex
	w          *chunk.Writer
	bufs       net.Buffers // the writer goroutine's buffers (non-blocking writes use a pooled scratch)
	batch      []outMsg    // messages being written; their packets are released once fully written
	left       net.Buffers // unwritten tail of a write, finished by the writer goroutine
	closeAfter bool        // close once batch is fully written
	raw        syscall.RawConn
	writes     uint64 // write system calls made (tests count them)
}

// writeScratch holds the buffer and iovec lists of one non-blocking write. They live only for
// that write (a leftover is copied out), so they come from a pool shared by every connection
// instead of being kept per connection: a thousand idle players keep none, and the tick that
// writes to them all reuses a few warm ones, whatever the size of a batch.
type writeScratch struct {
	bufs net.Buffers
	iov  []syscall.Iovec
}

var scratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// putScratch drops the payload references and returns sc to the pool (unless a burst made it
// large).
func putScratch(sc *writeScratch, bufs net.Buffers) {
	clear(bufs)
	if cap(bufs) > maxIOV {
		return
	}
	sc.bufs = bufs[:0]
	scratchPool.Put(sc)
}

// maxIOV is Linux's IOV_MAX: one writev takes at most this many buffers.
const maxIOV = 1024

func (c *Conn) initWriteSide() {
	c.ws.w = chunk.NewWriter()
	if sc, ok := c.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.ws.raw = raw
		}
	}
}

// writerIdle is how long a writer goroutine waits for more work before it exits: idle
// connections (most players write through their producers' direct writes) then hold no writer
// goroutine and no stack for it.
const writerIdle = 2 * time.Second

// wakeWriter makes sure a writer goroutine runs and tells it there is work.
func (c *Conn) wakeWriter() {
	c.out.wakeWriter()
	if !c.writerRunning.CompareAndSwap(false, true) {
		return
	}
	c.writerStart.Lock() // rare (a writer starts): keeps Add from racing Serve's final Wait
	defer c.writerStart.Unlock()
	if c.writersDone {
		return
	}
	c.writers.Add(1)
	go c.writeLoop()
}

// writeLoop is the writer goroutine: it drains the queue with blocking writes under a deadline,
// and exits after writerIdle without work (wakeWriter starts a new one).
func (c *Conn) writeLoop() {
	defer c.writers.Done()
	idle := time.NewTimer(writerIdle)
	defer idle.Stop()
	for {
		select {
		case <-c.out.wake:
		case <-c.ctx.Done():
			return
		case <-idle.C:
			c.writerRunning.Store(false)
			// A wake that raced the store is taken over here unless a new writer already took it.
			if len(c.out.wake) == 0 || !c.writerRunning.CompareAndSwap(false, true) {
				return
			}
			idle.Reset(writerIdle)
			continue
		}
		c.ws.mu.Lock()
		closeNow, err := c.drainBlocking()
		c.ws.mu.Unlock()
		if err != nil {
			c.Close(err)
			return
		}
		if closeNow {
			c.closeGracefully()
			return
		}
		idle.Reset(writerIdle)
	}
}

// writeSoon writes what is queued now if the socket is free and takes it; otherwise the writer
// goroutine is woken to do it.
func (c *Conn) writeSoon() {
	ws := &c.ws
	if ws.raw == nil || !ws.mu.TryLock() {
		c.wakeWriter()
		return
	}
	defer ws.mu.Unlock()
	if len(ws.left) > 0 || ws.closeAfter {
		c.wakeWriter() // the writer goroutine owns an unfinished write
		return
	}
	ws.batch = c.out.take(ws.batch)
	if len(ws.batch) == 0 {
		return
	}
	sc := scratchPool.Get().(*writeScratch)
	bufs := c.build(sc.bufs[:0])
	n, err := c.writevNow(bufs, &sc.iov)
	if err != nil {
		putScratch(sc, bufs)
		c.releaseBatch()
		go c.Close(fmt.Errorf("write: %w", err))
		return
	}
	c.Stats.BytesOut.Add(uint64(n))
	if left := advance(bufs, n); len(left) > 0 {
		ws.left = append(ws.bufs[:0], left...) // the writer goroutine's own copy
		ws.bufs = ws.left
		putScratch(sc, bufs)
		c.wakeWriter()
		return
	}
	putScratch(sc, bufs)
	c.finishBatch()
	if ws.closeAfter {
		go c.closeGracefully()
	}
}

// drainBlocking writes leftovers, then everything queued, blocking under the write deadline.
func (c *Conn) drainBlocking() (closeNow bool, err error) {
	ws := &c.ws
	for {
		if len(ws.left) > 0 {
			if err := c.writeBlocking(&ws.left); err != nil {
				return false, err
			}
		}
		if len(ws.batch) > 0 {
			c.finishBatch()
		}
		if ws.closeAfter {
			return true, nil
		}
		ws.batch = c.out.take(ws.batch)
		if len(ws.batch) == 0 {
			return false, nil
		}
		ws.bufs = c.build(ws.bufs[:0])
		ws.left = ws.bufs
	}
}

// build chunks the batch into b.
func (c *Conn) build(b net.Buffers) net.Buffers {
	ws := &c.ws
	for i := range ws.batch {
		m := &ws.batch[i]
		if m.closeConn && m.h.TypeID == 0 { // a bare close marker: nothing to write
			ws.closeAfter = true
			continue
		}
		b = ws.w.Append(b, m.h, m.bytes())
		if m.chunkSize != 0 {
			ws.w.SetChunkSize(m.chunkSize)
		}
		ws.closeAfter = ws.closeAfter || m.closeConn
	}
	c.Stats.MsgOut.Add(uint64(len(ws.batch)))
	return b
}

// finishBatch releases a fully written batch and recycles the header scratch. Buffers that a
// burst (a late joiner's GOP) grew large are dropped rather than kept for the connection's life:
// steady-state batches are a few messages, and idle players should cost little memory.
func (c *Conn) finishBatch() {
	ws := &c.ws
	c.releaseBatch()
	ws.w.Reset()
	ws.left = nil
	if cap(ws.batch) > keepEntries {
		ws.batch = nil
	}
	clear(ws.bufs) // no payload stays referenced after its write
	ws.bufs = ws.bufs[:0]
	if cap(ws.bufs) > 2*keepEntries {
		ws.bufs = nil
	}
}

// keepEntries is the largest batch whose buffers a connection keeps between writes.
const keepEntries = 32

func (c *Conn) releaseBatch() {
	releaseAll(c.ws.batch)
	c.ws.batch = c.ws.batch[:0]
}

func (c *Conn) writeBlocking(bufs *net.Buffers) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	c.ws.writes++
	n, err := bufs.WriteTo(c.nc)
	c.Stats.BytesOut.Add(uint64(n))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = fmt.Errorf("write timeout after %v: the client stopped reading: %w", c.cfg.WriteTimeout, err)
	}
	return err
}

// writevNow makes one non-blocking writev: what the socket buffer takes now, never a wait.
func (c *Conn) writevNow(bufs net.Buffers, scratch *[]syscall.Iovec) (int, error) {
	ws := &c.ws
	iov := (*scratch)[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(iov) == maxIOV {
			break
		}
		v := syscall.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	*scratch = iov
	if len(iov) == 0 {
		return 0, nil
	}
	ws.writes++
	var n uintptr
	var errno syscall.Errno
	err := ws.raw.Write(func(fd uintptr) bool {
		n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		return true // never wait here: a full socket buffer is the writer goroutine's job
	})
	clear(iov) // drop the references to payloads
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil // an old deadline of the writer goroutine: let it write, with a fresh one
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return 0, nil
	case errno != 0:
		return 0, errno
	}
	return int(n), nil
}

// advance drops the first n bytes of bufs (which it modifies in place).
func advance(bufs net.Buffers, n int) net.Buffers {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}

// lingerAfterAnswer is how long a connection closed after its last answer (a rejected connect)
// keeps reading before it is torn down.
const lingerAfterAnswer = 2 * time.Second

// closeGracefully ends a connection whose last message (a connect rejection) must reach the
// client: closing a socket that still holds unread input makes the kernel send a reset, which
// can destroy the answer before the client reads it. So the write side is shut (FIN after the
// answer), and the read loop drains until the client closes or lingerAfterAnswer passes.
func (c *Conn) closeGracefully() {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		c.Close(nil)
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(lingerAfterAnswer))
	c.draining.Store(true)
}
