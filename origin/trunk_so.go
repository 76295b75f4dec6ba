package origin

import (
	"errors"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// trunkSOSubscriber is an edge client's side of its shared-object subscriptions: the registry
// hands it updates with its lock held and it queues each as a session message for the edge to
// write to the client unchanged. It never blocks: a client whose window is used up cannot be
// kept in sync any more, so its session is closed, as a direct client over its outbound limit.
type trunkSOSubscriber struct {
	ts  *trunkSession
	reg *sharedobject.Registry
}

var _ sharedobject.Subscriber = (*trunkSOSubscriber)(nil)

// Send implements sharedobject.Subscriber in the encoding the client used (type 16 or 19).
func (s *trunkSOSubscriber) Send(msg *rtmpmsg.SharedObjectMessage, amf3 bool) {
	m := trunk.SessionMessage{Type: soType(amf3), Payload: s.reg.Encoded(msg, amf3)} // SendSession copies it
	ts := s.ts
	err := ts.p.conn.SendSession(ts.id, m)
	if errors.Is(err, trunk.ErrUnknownSession) {
		return // the session is ending; its subscriptions are released on its goroutine
	}
	if err != nil {
		ts.log.Warn().Err(err).Str("object", msg.Name).Msg("edge client cannot keep up with shared object updates: closing it")
		_ = ts.p.mux.Close(ts.id, trunk.CodeOverflow, "shared object updates overflow")
		return
	}
	ts.msgOut.Add(1)
	ts.bytesOut.Add(uint64(len(m.Payload)))
}

func soType(amf3 bool) uint8 {
	if amf3 {
		return rtmpmsg.TypeSharedObjectAMF3
	}
	return rtmpmsg.TypeSharedObjectAMF0
}
