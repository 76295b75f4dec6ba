package session

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// SharedObject handles a client's shared-object message: it goes straight to the instance's
// registry (thread safe; the script's hooks are posted to its loop by the engine), with the
// client's id for the access checks. A message about an object the client never used is
// ignored, as Red5 does; a malformed one or an event a client may not send ends the client (the
// object stays usable for everyone else).
func (s *Session) SharedObject(msg *rtmpmsg.SharedObjectMessage, amf3 bool) error {
	if !s.connected {
		return fmt.Errorf("shared object %q before connect", msg.Name)
	}
	reg := s.js.SharedObjects()
	if reg == nil {
		return nil
	}
	s.app.usedRegistry(reg)
	if sharedobject.IsUse(msg) && !s.soAuthorized[msg.Name] {
		if reason, ok := s.authorizeSharedObject(msg.Name, msg.Persistent()); !ok {
			s.t.Log().Info().Str("shared_object", msg.Name).Str("reason", reason).Msg("shared object use refused by a module")
			reg.RefuseUse(s.t.SharedObjectSink(reg), amf3, msg, sharedobject.CodeNoReadAccess)
			return nil
		}
		if s.env.Plugins.HasAuth() {
			if s.soAuthorized == nil {
				s.soAuthorized = map[string]bool{}
			}
			s.soAuthorized[msg.Name] = true
		}
	}
	err := reg.Handle(s.t.ID(), s.t.SharedObjectSink(reg), amf3, msg)
	if err == nil {
		return nil
	}
	if errors.Is(err, sharedobject.ErrNotSubscribed) && !errors.Is(err, sharedobject.ErrBadEvent) && !errors.Is(err, sharedobject.ErrUnknownEvent) {
		s.t.Log().Debug().Err(err).Msg("shared object message ignored")
		return nil
	}
	return fmt.Errorf("shared object %q: %w", msg.Name, err)
}

// Data handles a client's data message: a publisher's goes to its stream (WriteData); others
// are not taken by anything on the origin.
func (s *Session) Data(streamID, ts uint32, d *rtmpmsg.Data) {
	if pub := s.Publication(streamID); pub != nil {
		WriteData(pub, ts, d)
	}
}
