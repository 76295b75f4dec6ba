package origin

// clientHooks are fault-injection points of the client sessions for tests (Config.clientHooks);
// production has none. A panic they raise shows the connection's panic boundary
// (rtmpconn.ErrHandlerPanic): that client is closed with its stack logged, the others go on.
type clientHooks struct {
	command func(name string) // on the client's read goroutine, before each command is handled
}
