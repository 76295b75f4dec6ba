package origin

import (
	"errors"
	"fmt"

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
		ts.p.log.Warn().Err(err).Uint32("session", ts.id).Str("object", msg.Name).Msg("edge client cannot keep up with shared object updates: closing it")
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

// onSharedObject treats an edge client's shared-object message exactly like a direct client's
// (origin/sharedobject.go): same registry, same client id for the access checks, same rule that
// only a malformed message or a forbidden event ends the client. It runs on the session goroutine.
func (ts *trunkSession) onSharedObject(m trunk.SessionMessage) {
	amf3 := m.Type == rtmpmsg.TypeSharedObjectAMF3
	msg, err := rtmpmsg.DecodeSharedObject(m.Type, m.Payload)
	if err == nil {
		err = ts.handleSharedObject(&msg, amf3)
	}
	if err != nil {
		ts.p.log.Info().Err(err).Str("edge", ts.p.edgeID).Uint32("session", ts.id).Msg("edge client closed: bad shared object message")
		_ = ts.p.mux.Close(ts.id, trunk.CodeProtocol, err.Error())
	}
}

func (ts *trunkSession) handleSharedObject(msg *rtmpmsg.SharedObjectMessage, amf3 bool) error {
	reg := ts.js.SharedObjects()
	if reg == nil {
		return nil
	}
	if ts.so == nil {
		ts.so = &trunkSOSubscriber{ts: ts, reg: reg}
	}
	err := reg.Handle(ts.ID(), ts.so, amf3, msg)
	if err == nil {
		return nil
	}
	if errors.Is(err, sharedobject.ErrNotSubscribed) && !errors.Is(err, sharedobject.ErrBadEvent) && !errors.Is(err, sharedobject.ErrUnknownEvent) {
		ts.p.log.Debug().Err(err).Uint32("session", ts.id).Msg("shared object message ignored")
		return nil
	}
	return fmt.Errorf("shared object %q: %w", msg.Name, err)
}

// closeSharedObjects releases every object the session used; it runs on the session goroutine
// when the session ends, from either side.
func (ts *trunkSession) closeSharedObjects() {
	if ts.so == nil || ts.js == nil {
		return
	}
	if reg := ts.js.SharedObjects(); reg != nil {
		reg.Disconnect(ts.so)
	}
	ts.so = nil
}
