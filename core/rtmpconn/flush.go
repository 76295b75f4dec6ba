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
// connection's writer goroutine, its media tick's goroutine (many players' coalesced media, one
// write each), or a goroutine that finds the socket idle and writes at once (the end of a Corked section, Flush: a
// connect answer, a player's start). Writing from those saves a goroutine wake-up and switch per
// write, and a socket that cannot take the bytes at once is handed to the writer goroutine, so
// none of them blocks on a slow client.
//
// Between writes it holds nothing but the chunk writer: the batch being written and the buffer
// lists of its write come from pools and go back when the write is complete.
type writeSide struct {
	mu         sync.Mutex
	w          *chunk.Writer
	batch      *msgList      // messages being written; their packets are released once fully written
	sc         *writeScratch // buffer lists of the write under way (nil between writes)
	closeAfter bool          // close once batch is fully written
	raw        syscall.RawConn
}

// writeScratch holds the buffer and iovec lists of one write. They live only for that write (a
// write the socket could not take at once is finished by the writer goroutine with the same
// scratch), so they come from a pool shared by every connection instead of being kept per
// connection: a thousand idle players keep none, and the tick that writes to them all reuses a
// few warm ones, whatever the size of a batch.
type writeScratch struct {
	bufs net.Buffers
	left net.Buffers // what is still to be written of bufs (the writer goroutine finishes it)
	iov  []syscall.Iovec
}

var scratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// putScratch drops the payload references and returns sc to the pool (unless a burst made it
// large).
func putScratch(sc *writeScratch) {
	clear(sc.bufs)
	if cap(sc.bufs) > maxIOV {
		return
	}
	sc.bufs, sc.left = sc.bufs[:0], nil
	scratchPool.Put(sc)
}

// maxIOV is Linux's IOV_MAX: one writev takes at most this many buffers.
const maxIOV = 1024

// tcpRaw is the raw connection of a TCP socket (the write side's, one per connection: the read
// side's quick ACKs and idle waits use it too), or nil for any other kind of connection.
func (c *Conn) tcpRaw() syscall.RawConn {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	if c.ws.raw != nil {
		return c.ws.raw
	}
	raw, err := tc.SyscallConn() // a Conn made without New (tests)
	if err != nil {
		return nil
	}
	return raw
}

func (c *Conn) initWriteSide() {
	c.ws.w = chunk.NewWriter()
	if sc, ok := c.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.ws.raw = raw
		}
	}
}

// writerIdle is how long a writer goroutine waits for more work before it exits: idle
// connections (most players' media is written by their media tick) then hold no writer
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
	go c.writeLoop(c.out.wakeChan())
}

// writeLoop is the writer goroutine: it drains the queue with blocking writes under a deadline,
// and exits after writerIdle without work (wakeWriter starts a new one). Its first round does
// not wait for a signal: the one that started it may have been sent before wake existed.
func (c *Conn) writeLoop(wake chan struct{}) {
	defer c.writers.Done()
	idle := time.NewTimer(writerIdle)
	defer idle.Stop()
	for first := true; ; first = false {
		if !first && !c.awaitWork(wake, idle) {
			return
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

// awaitWork waits for a wake-up; false means the writer should exit (the connection closed, or
// writerIdle passed without work).
func (c *Conn) awaitWork(wake chan struct{}, idle *time.Timer) bool {
	for {
		select {
		case <-wake:
			return true
		case <-c.ctx.Done():
			return false
		case <-idle.C:
			c.writerRunning.Store(false)
			// A wake that raced the store is taken over here unless a new writer already took it.
			if len(wake) == 0 || !c.writerRunning.CompareAndSwap(false, true) {
				return false
			}
			idle.Reset(writerIdle)
		}
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
	if ws.sc != nil || ws.closeAfter {
		c.wakeWriter() // the writer goroutine owns an unfinished write
		return
	}
	if ws.batch = c.out.take(); ws.batch == nil {
		return
	}
	sc := scratchPool.Get().(*writeScratch)
	sc.bufs = c.build(sc.bufs[:0])
	ws.sc = sc
	n, err := c.writevNow(sc.bufs, &sc.iov)
	if err != nil {
		c.releaseBatch()
		go c.Close(fmt.Errorf("write: %w", err))
		return
	}
	c.Stats.BytesOut.Add(uint64(n))
	if sc.left = advance(sc.bufs, n); len(sc.left) > 0 {
		c.wakeWriter() // it finishes the write with this scratch
		return
	}
	c.finishBatch()
	if ws.closeAfter {
		go c.closeGracefully()
	}
}

// drainBlocking writes leftovers, then everything queued, blocking under the write deadline.
func (c *Conn) drainBlocking() (closeNow bool, err error) {
	ws := &c.ws
	for {
		if ws.sc != nil && len(ws.sc.left) > 0 {
			if err := c.writeBlocking(&ws.sc.left); err != nil {
				return false, err
			}
		}
		if ws.batch != nil {
			c.finishBatch()
		}
		if ws.closeAfter {
			return true, nil
		}
		if ws.batch = c.out.take(); ws.batch == nil {
			return false, nil
		}
		ws.sc = scratchPool.Get().(*writeScratch)
		ws.sc.bufs = c.build(ws.sc.bufs[:0])
		ws.sc.left = ws.sc.bufs
	}
}

// build chunks the batch into b.
func (c *Conn) build(b net.Buffers) net.Buffers {
	ws := &c.ws
	items := ws.batch.items
	for i := range items {
		m := &items[i]
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
	c.Stats.MsgOut.Add(uint64(len(items)))
	c.rt.shards[c.shard].msgs.Add(uint64(len(items)))
	return b
}

// finishBatch releases a fully written batch and recycles the header scratch.
func (c *Conn) finishBatch() {
	c.releaseBatch()
	c.ws.w.Reset()
}

// keepEntries is the largest batch whose lists go back to the pools: steady-state batches are a
// few messages, and lists a burst (a late joiner's GOP) grew large are left to the collector.
const keepEntries = 32

// releaseBatch gives the batch (releasing its packets) and the write's buffer lists back to
// their pools: no payload stays referenced after its write, and an idle connection holds none.
func (c *Conn) releaseBatch() {
	ws := &c.ws
	if ws.batch != nil {
		putList(ws.batch)
		ws.batch = nil
	}
	if ws.sc != nil {
		putScratch(ws.sc)
		ws.sc = nil
	}
}

// writeBlocking writes bufs completely (advancing it), waiting under the write deadline. On plain
// TCP it makes its own writev calls: net.Buffers.WriteTo would leave an iovec list cached on the
// socket for the connection's life.
func (c *Conn) writeBlocking(bufs *net.Buffers) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	var err error
	if c.ws.raw == nil {
		c.countWrite()
		var n int64
		n, err = bufs.WriteTo(c.nc)
		c.Stats.BytesOut.Add(uint64(n))
	} else {
		err = c.writevAll(bufs)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = fmt.Errorf("write timeout after %v: the client stopped reading: %w", c.cfg.WriteTimeout, err)
	}
	return err
}

// writevAll writes bufs with writev calls that wait in the poller while the socket is full.
func (c *Conn) writevAll(bufs *net.Buffers) error {
	ws := &c.ws
	for len(*bufs) > 0 {
		iov := fillIOV(*bufs, &ws.sc.iov)
		if len(iov) == 0 {
			*bufs = nil // only empty buffers were left
			return nil
		}
		c.countWrite()
		var n uintptr
		var errno syscall.Errno
		err := ws.raw.Write(func(fd uintptr) bool {
			n, errno = writev(fd, iov)
			return errno != syscall.EAGAIN // EAGAIN: the poller waits until the socket takes more
		})
		clear(iov) // drop the references to payloads
		switch {
		case err != nil:
			return err
		case errno != 0:
			return os.NewSyscallError("writev", errno)
		}
		c.Stats.BytesOut.Add(uint64(n))
		*bufs = advance(*bufs, int(n))
	}
	return nil
}

// countWrite counts one write system call, on the connection and its runtime's shard.
func (c *Conn) countWrite() {
	c.Stats.Writes.Add(1)
	c.rt.shards[c.shard].writes.Add(1)
}

// writev makes one writev system call, repeated when a signal interrupts it.
func writev(fd uintptr, iov []syscall.Iovec) (uintptr, syscall.Errno) {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		if errno != syscall.EINTR {
			return n, errno
		}
	}
}

// fillIOV lists the non-empty buffers of bufs (at most maxIOV) in *scratch.
func fillIOV(bufs net.Buffers, scratch *[]syscall.Iovec) []syscall.Iovec {
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
	return iov
}

// writevNow makes one non-blocking writev: what the socket buffer takes now, never a wait.
func (c *Conn) writevNow(bufs net.Buffers, scratch *[]syscall.Iovec) (int, error) {
	ws := &c.ws
	iov := fillIOV(bufs, scratch)
	if len(iov) == 0 {
		return 0, nil
	}
	c.countWrite()
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
