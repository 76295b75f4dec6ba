package origin

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// soSubscriber is a connection's side of its shared-object subscriptions: the registry hands it
// updates with its lock held, and it queues each on the connection (never blocking; a client too
// slow to take them is closed by the connection's outbound limit).
type soSubscriber struct {
	conn *rtmpconn.Conn
	reg  *sharedobject.Registry
}

var _ sharedobject.Subscriber = (*soSubscriber)(nil)

// Send writes msg in the encoding the client used: type 16 after an AMF3 request, else 19.
func (s *soSubscriber) Send(msg *rtmpmsg.SharedObjectMessage, amf3 bool) {
	typeID := uint8(rtmpmsg.TypeSharedObjectAMF0)
	if amf3 {
		typeID = rtmpmsg.TypeSharedObjectAMF3
	}
	_ = s.conn.SendMessage(0, typeID, 0, s.reg.Encoded(msg, amf3))
}

// HandleSharedObject implements rtmpconn.Handler: the message goes straight to the instance's
// registry (thread safe; the script's hooks are posted to its loop by the engine). A message
// about an object the client never used is ignored, as Red5 does; a malformed one or an event a
// client may not send closes the connection (the object stays usable for everyone else).
func (s *session) HandleSharedObject(_ *rtmpconn.Conn, msg *rtmpmsg.SharedObjectMessage, amf3 bool) error {
	if !s.connected {
		return fmt.Errorf("shared object %q before connect", msg.Name)
	}
	if s.js == nil {
		return nil
	}
	reg := s.js.SharedObjects()
	if reg == nil {
		return nil
	}
	if s.so == nil {
		s.so = &soSubscriber{conn: s.conn, reg: reg}
	}
	err := reg.Handle(s.conn.ID(), s.so, amf3, msg)
	if err == nil {
		return nil
	}
	if errors.Is(err, sharedobject.ErrNotSubscribed) && !errors.Is(err, sharedobject.ErrBadEvent) && !errors.Is(err, sharedobject.ErrUnknownEvent) {
		s.conn.Log().Debug().Err(err).Msg("shared object message ignored")
		return nil
	}
	return fmt.Errorf("shared object %q: %w", msg.Name, err)
}

// closeSharedObjects releases every object the connection used.
func (s *session) closeSharedObjects() {
	if s.so != nil && s.js != nil {
		if reg := s.js.SharedObjects(); reg != nil {
			reg.Disconnect(s.so)
		}
	}
	s.so = nil
}
