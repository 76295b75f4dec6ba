package rtmpconn

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// quickAckReads is how many socket reads at the start of a connection are acknowledged at once:
// enough for the handshake and the commands before media (connect, createStream, play or
// publish and their companions).
//
// Why: ffmpeg (and other clients that leave Nagle's algorithm on) writes an RTMP message in
// several small writes, the next one held until the first is acknowledged, while the kernel
// delays the server's ACK (up to 40 ms) hoping to piggyback it on an answer, which waits for the
// whole message. Each of ffmpeg's connect, createStream and play cost 40-45 ms so, about 130 ms
// of a 250 ms start to the first frame here; acknowledging at once after each read removes the
// stall. Media reads later go the ordinary way.
const quickAckReads = 32

// quickAckReader is a TCP connection's read source for its first quickAckReads reads. It is
// used by the read goroutine only.
//
// The ACK of a read is owed until the reader needs the socket again (its next read, or the read
// loop's wait for readability, see ackOwed): a write started since then carried it (an answer
// to connect, say), and forcing another costs a setsockopt and an ACK segment of its own. A
// peer that holds data back for our ACK is waiting for it only once we wait for that data.
type quickAckReader struct {
	nc     net.Conn
	raw    syscall.RawConn // nil: not TCP, reads go to nc unchanged
	writes *atomic.Uint64  // the connection's Stats.Writes, counted as each write starts
	left   int
	armed  bool   // the handshake wrote its answer: reads from now on are acknowledged
	owed   bool   // data was read since the last ACK we forced
	mark   uint64 // *writes when it was read
	forced int    // ACKs forced (tests)
}

// Read sends the ACK a previous read still owes, then reads from the connection.
func (q *quickAckReader) Read(p []byte) (int, error) {
	q.ackOwed()
	n, err := q.nc.Read(p)
	if n > 0 && q.armed && q.left > 0 && q.raw != nil { // unarmed reads do not count
		q.left--
		q.owed, q.mark = true, q.writes.Load()
	}
	return n, err
}

// ackOwed asks the kernel to send the ACK of data read earlier, unless a write that started
// after that read carried it. Called on the read goroutine before it waits on the socket.
func (q *quickAckReader) ackOwed() {
	if !q.owed {
		return
	}
	q.owed = false
	if q.writes.Load() == q.mark {
		q.forced++
		quickAck(q.raw)
	}
}

// readSource is what the connection's buffered reader reads from: the quick-ACK reader while
// it has reads left or an ACK owed, else the connection itself. Called on the read goroutine.
func (c *Conn) readSource() io.Reader {
	if c.qa == nil {
		c.qa = &quickAckReader{nc: c.nc, writes: &c.Stats.Writes}
		if raw := c.tcpRaw(); raw != nil {
			c.qa.raw, c.qa.left = raw, quickAckReads
		}
	}
	if c.qa.left == 0 && !c.qa.owed {
		return c.nc
	}
	return c.qa
}

// ackBeforeWait sends an ACK still owed before the read loop waits for readability without
// its buffer (see idleWait).
func (c *Conn) ackBeforeWait() {
	if c.qa != nil {
		c.qa.ackOwed()
	}
}
