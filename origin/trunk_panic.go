package origin

import (
	"fmt"
	"runtime/debug"

	"github.com/fmsgo/fmsgo/core/trunk"
)

// serverHooks are fault-injection points for tests (Config.hooks); production has none.
type serverHooks struct {
	trunkCommand func(name string)     // on a trunk session's goroutine, before each command
	trunkFrame   func(kind trunk.Kind) // on a trunk's read goroutine, before each frame it routes
}

// recoverFrame is the panic boundary of the trunk's read goroutine: a panic while handling a
// frame is logged with its stack and ends only that frame's session or channel (the edge is told
// with CodeInternal); the trunk reads on. Session frames dispatched to the Mux have their own
// boundary there (trunk.Mux closes the session the same way).
func (p *trunkPeer) recoverFrame(f trunk.Frame) {
	r := recover()
	if r == nil {
		return
	}
	p.log.Error().Str("edge", p.edgeID).Str("kind", f.Kind.String()).Uint32("id", f.ID).Str("panic", fmt.Sprint(r)).
		Str("stack", string(debug.Stack())).Msg("trunk frame handler panicked: its session or channel is closed")
	defer func() { // the clean-up itself must not take the trunk down
		if r := recover(); r != nil {
			p.log.Error().Str("panic", fmt.Sprint(r)).Msg("clean-up after a trunk handler panic failed")
		}
	}()
	switch f.Kind {
	case trunk.KindSessionOpen, trunk.KindSessionMessage, trunk.KindSessionVerdict:
		if p.mux.Close(f.ID, trunk.CodeInternal, "internal error") != nil {
			_ = p.conn.Send(f.ID, trunk.SessionClose{Code: trunk.CodeInternal, Reason: "internal error"})
		}
	case trunk.KindStreamSubscribe, trunk.KindStreamUnsubscribe, trunk.KindStreamPublish, trunk.KindStreamMedia, trunk.KindStreamGap:
		if !p.unbindPublish(f.ID) {
			p.unsubscribe(f.ID)
		}
		_ = p.conn.Send(f.ID, trunk.StreamStatus{Code: trunk.StreamEnded, Description: "internal error"})
	}
}
