package sharedobject

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
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
	err := o.apply(s, evs, msg.Version)
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

// use subscribes a client, answering with the object's state (what changed since the version
// the client holds, when the history covers it); it returns the object with the lock held, or nil
// (lock not held) after answering a refusal with a Status.
func (r *Registry) use(clientID string, sub Subscriber, amf3 bool, msg *rtmpmsg.SharedObjectMessage) *Object {
	refuse := func(code string) *Object {
		o := newObject(r, msg.Name, msg.Persistent())
		sub.Send(o.statusMsg(code), amf3)
		return nil
	}
	if r.cfg.Access != nil && !r.cfg.Access(clientID, msg.Name, false) {
		return refuse(CodeNoReadAccess)
	}
	if msg.Persistent() && !r.clientMayPersist(msg.Name) {
		return refuse(CodeBadPersistence) // the app did not consent to this object on disk
	}
	o, err := r.acquire(msg.Name, msg.Persistent())
	switch {
	case errors.Is(err, ErrBadPersistence):
		return refuse(CodeBadPersistence)
	case errors.Is(err, ErrBadName):
		return refuse(CodeBadName)
	case errors.Is(err, ErrStoreFailed):
		return refuse(CodeLoadFailed)
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
	sub.Send(o.useReply(amf3, msg.Version), amf3)
	return o
}

// apply runs a subscribed client's events in order; version is the one its message carries.
func (o *Object) apply(s *subscription, evs []Event, version uint32) error {
	for i := range evs {
		ev := &evs[i]
		switch ev.Type {
		case EventUse:
			s.sub.Send(o.useReply(s.amf3, version), s.amf3)
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
	if len(pairs) > o.reg.cfg.Limits.MaxSlots {
		// More changes in one request than the object may have slots: no client builds that
		// (a million pairs in one message). It is refused whole, with one Status, instead of
		// holding the object for seconds while each pair is tried and refused.
		o.refuseWrite(s, CodeLimitExceeded, pairs[:min(len(pairs), maxRevertEvents)])
		return
	}
	// A client's null is a value (Flash deletes with RequestRemove), unlike the server's.
	var refused []Pair
	for _, p := range pairs {
		old := o.valueOf(p.Key)
		changed, err := o.set(p.Key, p.Value, s)
		if err != nil {
			refused = append(refused, p)
			continue
		}
		if changed {
			o.batch.noteSync(SyncItem{Name: p.Key, Code: "change", OldValue: old})
		}
	}
	if len(refused) > 0 { // one Status for the request, not one per refused slot
		o.refuseWrite(s, CodeLimitExceeded, refused[:min(len(refused), maxRevertEvents)])
	}
}

// maxRevertEvents bounds the slot events a refusal carries so that the client's copy reverts:
// a refusal of more (only a hostile request has that many) reverts the first ones.
const maxRevertEvents = 4096

// valueOf is a slot's value, amf.Undefined{} for a missing slot.
func (o *Object) valueOf(key string) any {
	if s := o.slots[key]; s != nil {
		return s.value
	}
	return amf.Undefined{}
}

func (o *Object) requestRemove(s *subscription, key string) {
	if !o.writable(s) {
		o.refuseWrite(s, CodeNoWriteAccess, []Pair{{Key: key}})
		return
	}
	old, existed := o.slots[key]
	o.remove(key)
	if existed {
		o.batch.noteSync(SyncItem{Name: key, Code: "delete", OldValue: old.value})
	}
}

// maxRejectItems bounds the "reject" items of one update's OnSync list: a client flooding
// refused writes (a million pairs in one message) must not turn into as much script work.
const maxRejectItems = 64

// refuseWrite answers a refused change with a Status and the slots' current values, so that the
// client's copy reverts (its onSync reports "reject"); the server's OnSync gets "reject" too,
// for the first maxRejectItems refusals of the update.
func (o *Object) refuseWrite(s *subscription, code string, pairs []Pair) {
	msg := o.statusMsg(code)
	for _, p := range pairs {
		msg.Events = append(msg.Events, o.slotEvent(p.Key, s.amf3))
		if o.batch.rejects < maxRejectItems {
			o.batch.rejects++
			o.batch.sync = append(o.batch.sync, SyncItem{Name: p.Key, Code: "reject", OldValue: o.valueOf(p.Key)})
		}
	}
	s.sub.Send(msg, s.amf3)
}

// clientSend queues a client's SendMessage in the message's update: it reaches every subscriber,
// sender included, after the update's changes (after the server's Unlock if the server holds the
// object locked, as FMS queues it), then the server-side handler runs.
func (o *Object) clientSend(s *subscription, ev *Event) {
	if err := o.queueSend(*ev, s); err != nil {
		s.sub.Send(o.statusMsg(CodeLimitExceeded), s.amf3)
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

// RefuseUse answers a client's use of msg's object with a Status of code, without touching the
// object: a refusal decided outside the registry (an auth module's).
func (r *Registry) RefuseUse(sub Subscriber, amf3 bool, msg *rtmpmsg.SharedObjectMessage, code string) {
	sub.Send(newObject(r, msg.Name, msg.Persistent()).statusMsg(code), amf3)
}

// IsUse reports whether msg starts with a use (connect) event.
func IsUse(msg *rtmpmsg.SharedObjectMessage) bool {
	return len(msg.Events) > 0 && msg.Events[0].Type == uint8(EventUse)
}
