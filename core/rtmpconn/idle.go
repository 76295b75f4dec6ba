package rtmpconn

import (
	"bufio"
	"sync"
	"syscall"
	"unsafe"
)

// An edge or origin holds mostly idle connections: players that read media and send an
// acknowledgement every few seconds, RPC clients between calls, clients that connected and wait.
// A read loop parked in a blocking read holds its 4 KiB read buffer (and a deep stack) for as
// long as the peer stays quiet, which made the buffer the largest item of an idle client's
// memory. So when the chunk reader is between messages with nothing buffered, and the connection
// has not been busy lately, the read loop waits for readability without a buffer: the poller
// parks it in syscall.RawConn.Read with a callback that peeks one byte (MSG_PEEK|MSG_DONTWAIT);
// only when that finds nothing is the buffer handed back to a pool shared by the server's connections
// (and the chunk reader's reassembly buffers with it). A parked read loop is also shallow, so the
// garbage collector can shrink its stack. Read deadlines and Close still end the wait.
//
// Busy connections (publishers, chatty RPC clients) never take this path: the extra peek per
// socket read would cost them a syscall for nothing.

// defaultBusyMessages: a connection that received at least this many messages in the current
// and the previous deadline window (about one to two seconds) is busy and reads the ordinary way
// (Runtime.busyMessages, which a benchmark raises to hold a connection on the idle path).
const defaultBusyMessages = 16

// readBufPool is the runtime's pool of buffered readers of size (Config.ReadBufferSize), shared
// by its connections.
func (r *Runtime) readBufPool(size int) *sync.Pool {
	if p, ok := r.readBufs.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := r.readBufs.LoadOrStore(size, &sync.Pool{})
	return p.(*sync.Pool)
}

// getReadBuffer returns a pooled buffered reader of the configured size reading from the
// connection.
func (c *Conn) getReadBuffer(pool *sync.Pool) *bufio.Reader {
	if br, ok := pool.Get().(*bufio.Reader); ok {
		br.Reset(c.readSource())
		return br
	}
	return bufio.NewReaderSize(c.readSource(), c.cfg.ReadBufferSize)
}

// putReadBuffer returns br to the pool, without its reference to the connection.
func putReadBuffer(pool *sync.Pool, br *bufio.Reader) {
	br.Reset(nil)
	pool.Put(br)
}

// idleWait is the read loop's buffer-free wait for readability (nil for connections that are not
// plain TCP: those always read the ordinary way).
type idleWait struct {
	raw      syscall.RawConn
	released bool
	eof      bool // the peek found the peer's end of stream: no read needs to confirm it
	peekByte [1]byte
	check    func(fd uintptr) bool // made once: a closure per wait would allocate
	rs       *readState
	c        *Conn
}

func (c *Conn) newIdleWait(rs *readState) *idleWait {
	raw := c.tcpRaw()
	if raw == nil {
		return nil
	}
	w := &idleWait{raw: raw, rs: rs, c: c}
	w.check = w.readable
	return w
}

// quiet says whether the read loop should wait without its buffer before the next message.
func (rs *readState) quiet() bool {
	return rs.idle != nil && rs.br.Buffered() == 0 && rs.msgs+rs.prevMsgs < rs.busy
}

// The read loop waits by calling raw.Read(check) itself (one frame less on a parked stack):
// the poller parks it until the socket is readable (or has an error or EOF to report), or the
// read deadline passes, or the connection is closed; check hands the read buffer back for the
// duration if the socket has nothing yet, and reacquire takes one again.

// reacquire takes a read buffer again after a wait that released it.
func (w *idleWait) reacquire() {
	if w.released {
		w.rs.br = w.c.getReadBuffer(w.rs.pool)
		w.rs.cr.SetSource(w.rs.br)
	}
}

// readable peeks one byte without consuming or blocking. On the first "nothing yet" it releases
// the buffers: the poller is about to park this goroutine.
func (w *idleWait) readable(fd uintptr) bool {
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&w.peekByte[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno != syscall.EAGAIN {
		w.eof = errno == 0 && n == 0
		return true // a byte or an error: the ordinary read reports it
	}
	if !w.released {
		w.released = true
		w.c.idleWaits.Add(1)
		w.rs.cr.SetSource(nil)
		w.rs.cr.ReleaseIdle()
		putReadBuffer(w.rs.pool, w.rs.br)
		w.rs.br = nil
	}
	return false
}
