package netserver

import (
	"net"
	"syscall"
	"testing"
)

// TestListenSocketOptions: accepted connections have Nagle off (commands must not wait) and no
// TCP keep-alive (the RTMP layer pings silent peers).
func TestListenSocketOptions(t *testing.T) {
	t.Parallel()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	raw, err := sc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var keepAlive, noDelay int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		keepAlive, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		if gerr == nil {
			noDelay, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		}
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if keepAlive != 0 {
		t.Error("SO_KEEPALIVE is on")
	}
	if noDelay == 0 {
		t.Error("TCP_NODELAY is off")
	}
}
