package rtmpconn

import "syscall"

// quickAck asks the kernel to send a pending ACK now (TCP_QUICKACK is not sticky: it is set
// after each read).
func quickAck(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
