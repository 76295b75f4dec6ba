package edge

import (
	"fmt"
	"runtime/debug"

	"github.com/fmsgo/fmsgo/core/trunk"
)

// edgeHooks are fault-injection points for tests (Config.hooks); production has none.
type edgeHooks struct {
	sessionFrame func(f trunk.Frame) // on a client session's goroutine, before each origin frame
}

// recoverFrame is the panic boundary of a trunk's read goroutine on the edge: a panic while
// handling an origin's stream frame is logged with its stack and ends only that pulled stream
// (its viewers see it unpublished, the origin is told to unsubscribe); the trunk reads on.
// Session frames have their own boundary in trunk.Mux, which closes just that session.
func (st *trunkState) recoverFrame(f trunk.Frame) {
	r := recover()
	if r == nil {
		return
	}
	st.log.Error().Str("kind", f.Kind.String()).Uint32("id", f.ID).Str("panic", fmt.Sprint(r)).
		Str("stack", string(debug.Stack())).Msg("trunk frame handler panicked: its stream is dropped")
	defer func() { // the clean-up itself must not take the trunk down
		if r := recover(); r != nil {
			st.log.Error().Str("panic", fmt.Sprint(r)).Msg("clean-up after a trunk handler panic failed")
		}
	}()
	s := st.streams
	s.mu.Lock()
	p := s.byChan[f.ID]
	s.mu.Unlock()
	if p != nil {
		st.forget(p)
		_ = st.conn.Send(f.ID, trunk.StreamUnsubscribe{})
	}
}
