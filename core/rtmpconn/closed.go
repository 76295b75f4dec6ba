package rtmpconn

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// IsNormalClose reports whether a connection's end reason is an ordinary goodbye — the peer
// closed or reset the socket (also while we were writing to it), or the server closed it — as
// opposed to a protocol error, a timeout or a limit, which are worth a warning in the log.
func IsNormalClose(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
