//go:build !linux

package rtmpconn

import "syscall"

// quickAck is Linux's TCP_QUICKACK; elsewhere ACKs follow the kernel's own timing.
func quickAck(syscall.RawConn) {}
