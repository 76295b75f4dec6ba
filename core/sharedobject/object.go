package sharedobject

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// slot is one named value; enc0 is its AMF0 encoding, which serves as its size, its equality
// test, its AMF0 wire form and its persisted form. Each value is encoded with fresh reference
// tables, so an AMF0 reference (0x07) inside it counts from the value's own start.
type slot struct {
	key   string
	value any
	enc0  []byte
	order uint64
	ver   uint32 // the version of the update that last changed it
}

func (s *slot) size() int { return len(s.key) + len(s.enc0) }

// subscription is one client's use of one object.
type subscription struct {
	sub      Subscriber
	clientID string
	amf3     bool
}

// Object is one shared object. All its state is guarded by its registry's lock; its methods are
// the server-side API (the JS SharedObject) and are safe to call from any goroutine.
type Object struct {
	reg        *Registry
	name       string
	persistent bool

	version    uint32
	slots      map[string]*slot
	nextOrder  uint64
	bytes      int
	subs       []*subscription
	subIndex   map[Subscriber]*subscription
	serverHeld bool
	lockDepth  int
	batch      batch
	dropped    bool
	seq        uint64 // bumped by every update; savedSeq is the last one written to the store
	savedSeq   uint64
	enc        amf.Encoder
	hist       history
	charged    int64 // bytes charged to the app's disk quota (see DiskQuota)
}

func newObject(r *Registry, name string, persistent bool) *Object {
	return &Object{reg: r, name: name, persistent: persistent, slots: map[string]*slot{},
		subIndex: map[Subscriber]*subscription{}, hist: newHistory()}
}

// Name is the object's name as clients use it.
func (o *Object) Name() string { return o.name }

// Persistent reports whether the object is stored.
func (o *Object) Persistent() bool { return o.persistent }

// Version is the object's version, raised once per update.
func (o *Object) Version() uint32 {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	return o.version
}

// Dirty reports whether a persistent object has changes not yet written (FMS isDirty).
func (o *Object) Dirty() bool {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	return o.persistent && o.seq != o.savedSeq
}

// GetProperty returns a slot's value and whether it exists.
func (o *Object) GetProperty(key string) (any, bool) {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	s := o.slots[key]
	if s == nil {
		return nil, false
	}
	return s.value, true
}

// PropertyNames returns the slot names in the order the slots were created.
func (o *Object) PropertyNames() []string {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	ss := o.sortedSlots()
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.key
	}
	return names
}

// Size is the number of slots.
func (o *Object) Size() int {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	return len(o.slots)
}

func (o *Object) sortedSlots() []*slot {
	ss := make([]*slot, 0, len(o.slots))
	for _, s := range o.slots {
		ss = append(ss, s)
	}
	slices.SortFunc(ss, func(a, b *slot) int { return cmp.Compare(a.order, b.order) })
	return ss
}

// SetProperty writes a slot; nil or amf.Undefined deletes it. Subscribers get the change (at
// Unlock if the object is locked). It fails with ErrLimit past the object's limits.
func (o *Object) SetProperty(key string, v any) error {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	if o.dropped {
		return fmt.Errorf("shared object %q: %w", o.name, ErrClosed)
	}
	var err error
	if isDelete(v) {
		o.remove(key)
	} else {
		_, err = o.set(key, v, nil)
	}
	o.commitIfUnlocked()
	return err
}

func isDelete(v any) bool {
	_, undef := v.(amf.Undefined)
	return v == nil || undef
}

// set applies one change to the slots and records it in the batch; from is the requesting
// subscription (nil for the server), which gets Success instead of Change.
func (o *Object) set(key string, v any, from *subscription) (changed bool, err error) {
	lim := o.reg.cfg.Limits
	if len(key) > MaxKeyBytes {
		return false, &limitError{o.name, "bytes in a slot name", MaxKeyBytes}
	}
	old := o.slots[key]
	base := o.bytes
	if old != nil {
		base -= old.size()
	} else if len(o.slots) >= lim.MaxSlots {
		return false, &limitError{o.name, "slots", lim.MaxSlots}
	}
	room := lim.MaxBytes - base - len(key)
	if amf0Size(v, room) > room {
		return false, &limitError{o.name, "bytes", lim.MaxBytes}
	}
	enc, err := o.enc.AppendAMF0(nil, v)
	o.enc.Reset()
	if err != nil {
		return false, fmt.Errorf("shared object %q slot %q: %w", o.name, key, err)
	}
	if base+len(key)+len(enc) > lim.MaxBytes {
		return false, &limitError{o.name, "bytes", lim.MaxBytes}
	}
	changed = old == nil || !bytes.Equal(old.enc0, enc)
	if changed {
		slots := len(o.slots)
		if old == nil {
			slots++
		}
		if err := o.charge(base+len(key)+len(enc), slots); err != nil {
			return false, err
		}
		s := &slot{key: key, value: v, enc0: enc, order: o.nextOrder, ver: o.version + 1}
		if old != nil {
			s.order = old.order
		} else {
			o.nextOrder++
		}
		o.slots[key] = s
		o.bytes = base + s.size()
		o.hist.forget(key)
		o.trimHistory()
		o.recharge() // the forgotten or trimmed tombstones give back what they held
	}
	o.batch.note(key, changed, from)
	return changed, nil
}

// limitError is ErrLimit with its details, formatted only if someone reads it (a client may
// hammer a full object).
type limitError struct {
	object, what string
	max          int
}

func (e *limitError) Error() string {
	return fmt.Sprintf("shared object %q: more than %d %s: %v", e.object, e.max, e.what, ErrLimit)
}

func (e *limitError) Unwrap() error { return ErrLimit }

// remove deletes a slot. Everyone gets Remove, the requester included (Red5), so no requester
// is recorded.
func (o *Object) remove(key string) {
	old := o.slots[key]
	if old != nil {
		o.bytes -= old.size()
		delete(o.slots, key)
		if o.persistent { // only persistent objects resync from history (see covers)
			o.hist.add(key, o.version+1)
			o.trimHistory()
		}
		o.recharge() // a delete never grows the file: its tombstone is smaller than the slot
	}
	o.batch.note(key, old != nil, nil)
}

// Clear deletes every slot; subscribers get one Clear.
func (o *Object) Clear() error {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	if o.dropped {
		return fmt.Errorf("shared object %q: %w", o.name, ErrClosed)
	}
	clear(o.slots)
	o.bytes = 0
	o.hist.reset(o.version + 1) // a client older than the clear needs the clear
	o.recharge()
	o.batch.clearAll()
	o.commitIfUnlocked()
	return nil
}

// Lock starts a batch: changes until the matching Unlock go out as one update (one version step,
// one message per subscriber). Client changes, and sends from either side, that arrive meanwhile
// join the batch and go out after its changes. It returns the lock count (FMS lock()).
func (o *Object) Lock() int {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	o.lockDepth++
	return o.lockDepth
}

// Unlock ends a batch started by Lock and sends it. It returns the remaining lock count, or -1
// if the object was not locked (FMS unlock()).
func (o *Object) Unlock() int {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	if o.lockDepth == 0 {
		return -1
	}
	o.lockDepth--
	o.commitIfUnlocked()
	o.reg.maybeDrop(o)
	return o.lockDepth
}

// Send calls method with args on every subscriber's client-side object. While the object is
// locked the call is queued and goes out at Unlock, after the batch's changes, so that clients
// see the state it follows; a queue past the object's limits fails with ErrLimit.
func (o *Object) Send(method string, args ...any) error {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	if o.dropped {
		return fmt.Errorf("shared object %q: %w", o.name, ErrClosed)
	}
	ev := Event{Type: EventSendMessage, Method: method, Args: args}
	if o.lockDepth == 0 {
		return o.broadcastSend(&ev)
	}
	if _, err := EncodeEvent(&o.enc, &ev, false); err != nil {
		return fmt.Errorf("shared object %q send %q: %w", o.name, method, err)
	}
	return o.queueSend(ev, nil)
}

// Close releases the server's hold on the object, ending any lock the server left open (its
// batch goes out); the object leaves memory when no client uses it and its persistent state (if
// any) is written. Subscribed clients keep using it.
func (o *Object) Close() {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	o.serverHeld = false
	if o.lockDepth > 0 {
		o.lockDepth = 0
		o.commitIfUnlocked()
	}
	o.reg.maybeDrop(o)
}

// Flush writes a persistent object to the store now; it does nothing for other objects.
func (o *Object) Flush() error {
	o.reg.mu.Lock()
	if !o.persistent || o.reg.cfg.Store == nil || o.seq == o.savedSeq {
		o.reg.mu.Unlock()
		return nil
	}
	snap := o.snapshot()
	o.reg.mu.Unlock()
	return o.reg.write([]*pendingWrite{snap})
}

// statusMsg builds a one-event Status message.
func (o *Object) statusMsg(code string) *rtmpmsg.SharedObjectMessage {
	data := appendKey(appendKey(nil, code), "error")
	return o.message([]rtmpmsg.SharedObjectEvent{{Type: uint8(EventStatus), Data: data}})
}

func (o *Object) message(evs []rtmpmsg.SharedObjectEvent) *rtmpmsg.SharedObjectMessage {
	m := &rtmpmsg.SharedObjectMessage{Name: o.name, Version: o.version, Events: evs}
	if o.persistent {
		m.Flags = 2
	}
	return m
}
