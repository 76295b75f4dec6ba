package rtmpconn

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrHandlerPanic is the close reason of a connection whose handler (or read path) panicked.
var ErrHandlerPanic = errors.New("panic while serving the connection")

// recoverPanic is a connection's panic boundary, deferred by the read loop and around the
// handler's Closed: a panic there closes this connection only, logged at error level with its
// stack, and *err becomes the reason; the process and the other connections go on.
func (c *Conn) recoverPanic(err *error) {
	v := recover()
	if v == nil {
		return
	}
	c.Log().Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
		Msg("panic while serving the connection: closing it")
	*err = fmt.Errorf("%w: %v", ErrHandlerPanic, v)
}

// handlerClosed tells the handler the connection ended, behind the panic boundary.
func (c *Conn) handlerClosed(cause error) (err error) {
	defer c.recoverPanic(&err)
	c.handler.Closed(c, cause)
	return nil
}
