package sharedobject

import (
	"slices"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// batch collects the changes of one update: everything between Lock and Unlock, or one call /
// one client message when the object is not locked.
type batch struct {
	cleared bool
	keys    []string // in order of first change
	entries map[string]*batchEntry
	sync    []SyncItem // client-made changes, for OnSync
	sends   []queuedSend
	sendLen int            // AMF0 bytes of the queued sends' arguments
	rejects int            // "reject" items in sync
	synced  map[string]int // index in sync of each slot's change/delete item
}

// noteSync records a client's change or deletion of a slot for OnSync, one item per slot and
// update: its net effect (the last code) with the value from before the update. A message that
// flips one slot a million times must not make a million-item list.
func (b *batch) noteSync(it SyncItem) {
	if i, ok := b.synced[it.Name]; ok {
		b.sync[i].Code = it.Code
		return
	}
	if b.synced == nil {
		b.synced = map[string]int{}
	}
	b.synced[it.Name] = len(b.sync)
	b.sync = append(b.sync, it)
}

// queuedSend is a SendMessage made during the batch, delivered after its changes; from is the
// sending client (nil: the server), whose server-side handler runs after delivery.
type queuedSend struct {
	ev   Event
	from *subscription
}

// maxQueuedSends bounds the sends one batch holds (their bytes are bounded by MaxBytes): a
// server lock held while clients send must not grow memory without bound.
const maxQueuedSends = 1024

type batchEntry struct {
	changed  bool
	success  []*subscription // requesters owed a Success
	lastFrom *subscription   // who set the value last (nil: the server)
}

func (b *batch) note(key string, changed bool, from *subscription) {
	if b.entries == nil {
		b.entries = map[string]*batchEntry{}
	}
	e := b.entries[key]
	if e == nil {
		e = &batchEntry{}
		b.entries[key] = e
		b.keys = append(b.keys, key)
	}
	if changed {
		e.changed = true
		e.lastFrom = from
	}
	if from != nil && !slices.Contains(e.success, from) {
		e.success = append(e.success, from)
	}
}

func (b *batch) clearAll() {
	b.cleared = true
	b.keys = b.keys[:0]
	clear(b.entries)
}

func (b *batch) empty() bool {
	return !b.cleared && len(b.keys) == 0 && len(b.sends) == 0 && len(b.sync) == 0
}

func (b *batch) changed() bool {
	if b.cleared {
		return true
	}
	for _, e := range b.entries {
		if e.changed {
			return true
		}
	}
	return false
}

// owed lists the subscriptions owed a Success in this batch (usually one or none).
func (b *batch) owed() []*subscription {
	var owed []*subscription
	for _, key := range b.keys {
		for _, s := range b.entries[key].success {
			if !slices.Contains(owed, s) {
				owed = append(owed, s)
			}
		}
	}
	return owed
}

// commitIfUnlocked ends the current update unless a Lock is open: the version rises once if
// anything changed, each subscriber gets one message, and OnSync is queued.
func (o *Object) commitIfUnlocked() {
	if o.lockDepth > 0 || o.batch.empty() {
		return
	}
	b := o.batch
	o.batch = batch{}
	if b.changed() {
		o.version++
		o.afterVersion()
		o.touched()
	}
	o.fanout(&b)
	o.deliverSends(&b)
	if len(b.sync) > 0 && o.reg.cfg.OnSync != nil {
		hook, list := o.reg.cfg.OnSync, b.sync
		o.reg.after = append(o.reg.after, func() { hook(o, list) })
	}
	o.queueMessageHooks(&b)
}

// queueSend adds a send to the open batch within its bounds.
func (o *Object) queueSend(ev Event, from *subscription) error {
	lim := o.reg.cfg.Limits.MaxBytes
	n := amf0Size(ev.Args, lim-o.batch.sendLen)
	if len(o.batch.sends) >= maxQueuedSends || o.batch.sendLen+n > lim {
		return &limitError{o.name, "bytes of sends queued while locked", lim}
	}
	o.batch.sendLen += n
	o.batch.sends = append(o.batch.sends, queuedSend{ev: ev, from: from})
	return nil
}

// deliverSends sends the batch's queued SendMessages in order, after its changes.
func (o *Object) deliverSends(b *batch) {
	for i := range b.sends {
		ev := &b.sends[i].ev
		if err := o.broadcastSend(ev); err != nil {
			o.reg.cfg.Logger.Warn().Err(err).Str("so", o.name).Str("method", ev.Method).Msg("relay send")
		}
	}
}

// queueMessageHooks runs the server-side handlers of the clients' sends, in order, once the
// lock is released.
func (o *Object) queueMessageHooks(b *batch) {
	hook := o.reg.cfg.OnMessage
	if hook == nil {
		return
	}
	for _, q := range b.sends {
		if q.from == nil {
			continue
		}
		id, method, args := q.from.clientID, q.ev.Method, q.ev.Args
		o.reg.after = append(o.reg.after, func() { hook(o, id, method, args) })
	}
}

// fanout sends the batch: one shared message per encoding to subscribers owed nothing, and a
// message of their own to requesters (Success in place of Change).
func (o *Object) fanout(b *batch) {
	var common [2]*rtmpmsg.SharedObjectMessage
	owed := b.owed()
	for _, s := range o.subs {
		if len(owed) > 0 && slices.Contains(owed, s) {
			o.deliver(s, o.updateEvents(b, s.amf3, s))
			continue
		}
		i := encIndex(s.amf3)
		if common[i] == nil {
			common[i] = o.message(o.updateEvents(b, s.amf3, nil))
		}
		if len(common[i].Events) > 0 {
			s.sub.Send(common[i], s.amf3)
		}
	}
}

func encIndex(amf3 bool) int {
	if amf3 {
		return 1
	}
	return 0
}

func (o *Object) deliver(s *subscription, evs []rtmpmsg.SharedObjectEvent) {
	if len(evs) > 0 {
		s.sub.Send(o.message(evs), s.amf3)
	}
}

// updateEvents lists the events of batch b as subscriber `to` must see them (to == nil: a
// subscriber that requested nothing).
func (o *Object) updateEvents(b *batch, amf3 bool, to *subscription) []rtmpmsg.SharedObjectEvent {
	var evs []rtmpmsg.SharedObjectEvent
	if b.cleared {
		evs = append(evs, rtmpmsg.SharedObjectEvent{Type: uint8(EventClear)})
	}
	for _, key := range b.keys {
		e := b.entries[key]
		mine := to != nil && slices.Contains(e.success, to)
		if mine {
			evs = append(evs, rtmpmsg.SharedObjectEvent{Type: uint8(EventSuccess), Data: appendKey(nil, key)})
		}
		if e.changed && !(mine && e.lastFrom == to) {
			evs = append(evs, o.slotEvent(key, amf3))
		}
	}
	return evs
}

// slotEvent is a Change carrying the slot's current value, or a Remove if it no longer exists.
func (o *Object) slotEvent(key string, amf3 bool) rtmpmsg.SharedObjectEvent {
	s := o.slots[key]
	if s == nil {
		return rtmpmsg.SharedObjectEvent{Type: uint8(EventRemove), Data: appendKey(nil, key)}
	}
	data := appendKey(make([]byte, 0, 2+len(key)+len(s.enc0)), key)
	if !amf3 {
		return rtmpmsg.SharedObjectEvent{Type: uint8(EventChange), Data: append(data, s.enc0...)}
	}
	data, err := o.enc.AppendSwitched(data, s.value)
	o.enc.Reset()
	if err != nil { // cannot happen for a value that encoded as AMF0 within the limits
		o.reg.cfg.Logger.Error().Err(err).Str("so", o.name).Str("slot", key).Msg("encode slot as AMF3")
		return rtmpmsg.SharedObjectEvent{Type: uint8(EventRemove), Data: appendKey(nil, key)}
	}
	return rtmpmsg.SharedObjectEvent{Type: uint8(EventChange), Data: data}
}

// broadcastSend delivers a SendMessage to every subscriber once, one shared message per encoding.
func (o *Object) broadcastSend(ev *Event) error {
	var common [2]*rtmpmsg.SharedObjectMessage
	for _, s := range o.subs {
		i := encIndex(s.amf3)
		if common[i] == nil {
			raw, err := EncodeEvent(&o.enc, ev, s.amf3)
			if err != nil {
				return err
			}
			common[i] = o.message([]rtmpmsg.SharedObjectEvent{raw})
		}
		s.sub.Send(common[i], s.amf3)
	}
	return nil
}
