package sharedobject

import "github.com/fmsgo/fmsgo/core/rtmpmsg"

// tombSize is what one tombstone counts against the object's byte limit besides its name: the
// version it was deleted at.
const tombSize = 4

// tomb is one deleted slot: its name and the version of the update that deleted it.
type tomb struct {
	key string
	ver uint32
}

// history is an object's deleted-slot history (FMS keeps it too: resyncDepth and purge act on
// it). With each live slot's version it lets a client that comes back with a version it already
// has receive only what changed since, instead of a clear and the whole object. It is bounded by
// the object's limits, oldest deletions evicted first.
type history struct {
	tombs map[string]uint32 // live tombstones: name -> version of the deletion
	queue []tomb            // oldest first; an entry not matching tombs is stale
	bytes int
	// from is the oldest client version the history can bring up to date: raised past every
	// tombstone dropped and to the version of every Clear.
	from uint32
	// depth is FMS resyncDepth: tombstones older than the current version minus depth are
	// dropped, and a client further behind gets the whole object; negative means unlimited.
	depth int64
}

func newHistory() history { return history{tombs: map[string]uint32{}, depth: -1} }

func (h *history) add(key string, ver uint32) {
	if _, ok := h.tombs[key]; !ok {
		h.bytes += len(key) + tombSize
	}
	h.tombs[key] = ver
	h.queue = append(h.queue, tomb{key, ver})
}

// forget removes a tombstone: the slot exists again (its own version tells clients about it).
func (h *history) forget(key string) {
	if _, ok := h.tombs[key]; ok {
		delete(h.tombs, key)
		h.bytes -= len(key) + tombSize
		h.compact()
	}
}

// reset drops every tombstone; clients older than from get the whole object.
func (h *history) reset(from uint32) {
	clear(h.tombs)
	h.queue = h.queue[:0]
	h.bytes = 0
	h.from = max(h.from, from)
}

// dropOldest drops the oldest live tombstone, reporting whether there was one.
func (h *history) dropOldest() bool {
	for len(h.queue) > 0 {
		t := h.queue[0]
		h.queue = h.queue[1:]
		if v, ok := h.tombs[t.key]; ok && v == t.ver {
			delete(h.tombs, t.key)
			h.bytes -= len(t.key) + tombSize
			h.from = max(h.from, t.ver)
			return true
		}
	}
	return false
}

// dropBefore drops the tombstones older than version and reports how many it dropped.
func (h *history) dropBefore(version uint32) int {
	n := 0
	for len(h.queue) > 0 {
		t := h.queue[0]
		if v, ok := h.tombs[t.key]; !ok || v != t.ver {
			h.queue = h.queue[1:] // stale
			continue
		}
		if t.ver >= version {
			break
		}
		h.dropOldest()
		n++
	}
	return n
}

// compact rebuilds the queue once stale entries dominate it, so that slots deleted and set
// again in a loop cannot grow it without bound.
func (h *history) compact() {
	if len(h.queue) <= 2*len(h.tombs)+64 {
		return
	}
	h.queue = h.live()
}

// live lists the live tombstones, oldest first.
func (h *history) live() []tomb {
	out := make([]tomb, 0, len(h.tombs))
	seen := make(map[string]bool, len(h.tombs))
	for _, t := range h.queue {
		if v, ok := h.tombs[t.key]; ok && v == t.ver && !seen[t.key] {
			seen[t.key] = true
			out = append(out, t)
		}
	}
	return out
}

// trimHistory keeps slots and tombstones together within the object's slot and byte limits by
// dropping the oldest tombstones; live slots are bounded on their own by set.
func (o *Object) trimHistory() {
	lim := o.reg.cfg.Limits
	for len(o.slots)+len(o.hist.tombs) > lim.MaxSlots || o.bytes+o.hist.bytes > lim.MaxBytes {
		if !o.hist.dropOldest() {
			return
		}
	}
}

// afterVersion applies resyncDepth once the version rose.
func (o *Object) afterVersion() {
	if d := o.hist.depth; d >= 0 && int64(o.version) > d {
		o.hist.dropBefore(o.version - uint32(d))
	}
}

// covers reports whether a client holding version v can be brought up to date with what changed
// since. Only persistent objects qualify: their version continues across restarts, while a
// non-persistent object starts again at 0 and a client's old version may name other contents.
func (o *Object) covers(v uint32) bool {
	if !o.persistent || v == 0 || v > o.version || v < o.hist.from {
		return false
	}
	return o.hist.depth < 0 || int64(v)+o.hist.depth >= int64(o.version)
}

// Purge drops the deleted-slot history older than version (FMS purge): clients that come back
// from before it get the whole object. For a persistent object the shorter history is written.
func (o *Object) Purge(version uint32) {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	if o.dropped || o.hist.dropBefore(version) == 0 {
		return
	}
	o.touched()
}

// SetResyncDepth sets FMS resyncDepth: deletions more than depth versions old are forgotten, and
// a client more than depth versions behind gets a clear and the whole object; negative means
// unlimited (the default).
func (o *Object) SetResyncDepth(depth int64) {
	o.reg.mu.Lock()
	defer o.reg.unlock()
	o.hist.depth = max(depth, -1)
	if n := o.hist.dropBefore(o.resyncFloor()); n > 0 && !o.dropped {
		o.touched()
	}
}

func (o *Object) resyncFloor() uint32 {
	d := o.hist.depth
	if d < 0 || int64(o.version) <= d {
		return 0
	}
	return o.version - uint32(d)
}

// ResyncDepth is the value SetResyncDepth set (-1: unlimited).
func (o *Object) ResyncDepth() int64 {
	o.reg.mu.Lock()
	defer o.reg.mu.Unlock()
	return o.hist.depth
}

// touched marks persistent state changed without a new version (lock held).
func (o *Object) touched() {
	o.seq = o.reg.nextSeq()
	o.reg.markDirty(o)
}

// useReply is what a client gets on Use, all carrying the current version: UseSuccess, then
//   - for a client whose version v the history covers, a Remove per slot deleted after v and a
//     Change per slot changed after v: FMS's resync as its SharedObject.resyncDepth entry
//     describes it (deletes, then changes; a clear and everything past the depth). Red5's
//     SharedObject.register ignores the client's version and always sends everything;
//   - for a client holding an older version, Clear and one Change per slot;
//   - for a new client (v = 0), Clear only for a non-persistent object (as Red5), then one Change
//     per slot.
func (o *Object) useReply(amf3 bool, v uint32) *rtmpmsg.SharedObjectMessage {
	evs := make([]rtmpmsg.SharedObjectEvent, 0, len(o.slots)+2)
	evs = append(evs, rtmpmsg.SharedObjectEvent{Type: uint8(EventUseSuccess)})
	delta := o.covers(v)
	if delta {
		for _, t := range o.hist.live() {
			if t.ver > v {
				evs = append(evs, rtmpmsg.SharedObjectEvent{Type: uint8(EventRemove), Data: appendKey(nil, t.key)})
			}
		}
	} else if !o.persistent || v != 0 {
		evs = append(evs, rtmpmsg.SharedObjectEvent{Type: uint8(EventClear)})
	}
	for _, s := range o.sortedSlots() {
		if !delta || s.ver > v {
			evs = append(evs, o.slotEvent(s.key, amf3))
		}
	}
	return o.message(evs)
}
