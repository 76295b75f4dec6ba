package rtmpconn

import (
	"io"
	"net"
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
type quickAckReader struct {
	nc    net.Conn
	raw   syscall.RawConn // nil: not TCP, reads go to nc unchanged
	left  int
	armed bool // the handshake wrote its answer: reads from now on are acknowledged
}

// Read reads from the connection and sends any ACK the kernel is holding back.
func (q *quickAckReader) Read(p []byte) (int, error) {
	n, err := q.nc.Read(p)
	if n > 0 && q.armed && q.left > 0 && q.raw != nil { // unarmed reads do not count
		q.left--
		quickAck(q.raw)
	}
	return n, err
}

// readSource is what the connection's buffered reader reads from: the quick-ACK reader while
// it has reads left, else the connection itself. Called on the read goroutine.
func (c *Conn) readSource() io.Reader {
	if c.qa == nil {
		c.qa = &quickAckReader{nc: c.nc}
		if tc, ok := c.nc.(*net.TCPConn); ok {
			if raw, err := tc.SyscallConn(); err == nil {
				c.qa.raw, c.qa.left = raw, quickAckReads
			}
		}
	}
	if c.qa.left == 0 {
		return c.nc
	}
	return c.qa
}
