package sharedobject

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Handle applies one shared-object message from a client. clientID names the client for access
// checks and hooks, sub receives the replies, amf3 says whether the message was type 16 (replies
// to this client then use type 16 too). The whole message is one update. Refusals (no access,
// bad persistence, limits) are answered with Status events and are not errors; an error means a
// malformed message or a protocol violation, which the caller logs (and may close the client for).
func (r *Registry) Handle(clientID string, sub Subscriber, amf3 bool, msg *rtmpmsg.SharedObjectMessage) error {
	evs, decErr := DecodeEvents(msg)
	if len(evs) == 0 {
		return decErr
	}
	var o *Object
	if evs[0].Type == EventUse {
		if o = r.use(clientID, sub, amf3, msg); o == nil {
			return decErr
		}
		evs = evs[1:]
	} else {
		r.mu.Lock()
		o = r.objects[msg.Name]
	}
	// The lock is held from here.
	defer r.unlock()
	s := o.subscription(sub)
	if s == nil {
		return errors.Join(fmt.Errorf("shared object %q: %w", msg.Name, ErrNotSubscribed), decErr)
	}
	o.lockDepth++ // one message, one update
	err := o.apply(s, evs)
	o.lockDepth--
	o.commitIfUnlocked()
	r.maybeDrop(o)
	return errors.Join(err, decErr)
}

// subscription returns sub's subscription to o (nil if none or if o is nil).
func (o *Object) subscription(sub Subscriber) *subscription {
	if o == nil {
		return nil
	}
	return o.subIndex[sub]
}

// use subscribes a client, answering with the object's full state; it returns the object with
// the lock held, or nil (lock not held) after answering a refusal with a Status.
func (r *Registry) use(clientID string, sub Subscriber, amf3 bool, msg *rtmpmsg.SharedObjectMessage) *Object {
	refuse := func(code string) *Object {
		o := newObject(r, msg.Name, msg.Persistent())
		sub.Send(o.statusMsg(code), amf3)
		return nil
	}
	if r.cfg.Access != nil && !r.cfg.Access(clientID, msg.Name, false) {
		return refuse(CodeNoReadAccess)
	}
	o, err := r.acquire(msg.Name, msg.Persistent())
	switch {
	case errors.Is(err, ErrBadPersistence):
		return refuse(CodeBadPersistence)
	case errors.Is(err, ErrBadName):
		return refuse(CodeBadName)
	case err != nil:
		return refuse(CodeLimitExceeded)
	}
	if s := o.subscription(sub); s == nil {
		s := &subscription{sub: sub, clientID: clientID, amf3: amf3}
		o.subs = append(o.subs, s)
		o.subIndex[sub] = s
		if r.bySub[sub] == nil {
			r.bySub[sub] = map[*Object]struct{}{}
		}
		r.bySub[sub][o] = struct{}{}
	}
	sub.Send(o.useReply(amf3), amf3)
	return o
}

// apply runs a subscribed client's events in order.
func (o *Object) apply(s *subscription, evs []Event) error {
	for i := range evs {
		ev := &evs[i]
		switch ev.Type {
		case EventUse:
			s.sub.Send(o.useReply(s.amf3), s.amf3)
		case EventRelease:
			o.unsubscribe(s.sub)
			if m := o.reg.bySub[s.sub]; m != nil {
				if delete(m, o); len(m) == 0 {
					delete(o.reg.bySub, s.sub)
				}
			}
			return nil // nothing after a release concerns this client
		case EventRequestChange:
			o.requestChange(s, ev.Pairs)
		case EventRequestRemove:
			o.requestRemove(s, ev.Key)
		case EventSendMessage:
			o.clientSend(s, ev)
		default:
			return fmt.Errorf("shared object %q: %v event from a client: %w", o.name, ev.Type, ErrBadEvent)
		}
	}
	return nil
}

func (o *Object) writable(s *subscription) bool {
	acc := o.reg.cfg.Access
	return acc == nil || acc(s.clientID, o.name, true)
}

func (o *Object) requestChange(s *subscription, pairs []Pair) {
	if !o.writable(s) {
		o.refuseWrite(s, CodeNoWriteAccess, pairs)
		return
	}
	// A client's null is a value (Flash deletes with RequestRemove), unlike the server's.
	for _, p := range pairs {
		changed, err := o.set(p.Key, p.Value, s)
		if err != nil {
			o.refuseWrite(s, CodeLimitExceeded, []Pair{p})
			continue
		}
		if changed {
			o.batch.sync = append(o.batch.sync, SyncItem{Name: p.Key, Code: "change"})
		}
	}
}

func (o *Object) requestRemove(s *subscription, key string) {
	if !o.writable(s) {
		o.refuseWrite(s, CodeNoWriteAccess, []Pair{{Key: key}})
		return
	}
	_, existed := o.slots[key]
	o.remove(key)
	if existed {
		o.batch.sync = append(o.batch.sync, SyncItem{Name: key, Code: "delete"})
	}
}

// refuseWrite answers a refused change with a Status and the slots' current values, so that the
// client's copy reverts (its onSync reports "reject").
func (o *Object) refuseWrite(s *subscription, code string, pairs []Pair) {
	msg := o.statusMsg(code)
	for _, p := range pairs {
		msg.Events = append(msg.Events, o.slotEvent(p.Key, s.amf3))
	}
	s.sub.Send(msg, s.amf3)
}

// clientSend relays a client's SendMessage to every subscriber, sender included, then queues the
// server-side handler.
func (o *Object) clientSend(s *subscription, ev *Event) {
	if amf0Size(ev.Args, o.reg.cfg.Limits.MaxBytes) > o.reg.cfg.Limits.MaxBytes {
		s.sub.Send(o.statusMsg(CodeLimitExceeded), s.amf3)
		return
	}
	if err := o.broadcastSend(ev.Method, ev.Args); err != nil {
		o.reg.cfg.Logger.Warn().Err(err).Str("so", o.name).Str("method", ev.Method).Msg("relay send")
		return
	}
	if hook := o.reg.cfg.OnMessage; hook != nil {
		id, method, args := s.clientID, ev.Method, ev.Args
		o.reg.after = append(o.reg.after, func() { hook(o, id, method, args) })
	}
}

// unsubscribe removes sub from o (its bySub entry is the caller's business) and drops o if that
// was its last user.
func (o *Object) unsubscribe(sub Subscriber) {
	delete(o.subIndex, sub)
	for i, s := range o.subs {
		if s.sub == sub {
			o.subs = append(o.subs[:i], o.subs[i+1:]...)
			break
		}
	}
	o.reg.maybeDrop(o)
}
