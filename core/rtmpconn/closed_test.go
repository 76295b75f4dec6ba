package rtmpconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestIsNormalClose: goodbyes (EOF, resets, a peer gone while we write, our own close) are not
// warnings; protocol errors and timeouts are.
func TestIsNormalClose(t *testing.T) {
	t.Parallel()
	write := func(errno syscall.Errno) error {
		return fmt.Errorf("write: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("writev", errno)})
	}
	for _, tc := range []struct {
		err    error
		normal bool
	}{
		{nil, true},
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.EOF), true},
		{ErrClosed, true},
		{write(syscall.EPIPE), true},
		{write(syscall.ECONNRESET), true},
		{fmt.Errorf("read: %w", net.ErrClosed), true},
		{errors.New("rtmpmsg: message too short"), false},
		{fmt.Errorf("idle timeout: %w", os.ErrDeadlineExceeded), false},
		{ErrSlowConsumer, false},
	} {
		if got := IsNormalClose(tc.err); got != tc.normal {
			t.Errorf("IsNormalClose(%v) = %v, want %v", tc.err, got, tc.normal)
		}
	}
}
