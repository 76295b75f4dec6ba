package sharedobject

import (
	"cmp"
	"errors"
	"slices"
	"time"
)

// pendingWrite is a persistent object's state taken under the lock, written outside it.
type pendingWrite struct {
	o    *Object
	seq  uint64
	data []byte
}

// nextSeq numbers an update, so that a store can tell a newer write of an object from an older
// one even after the object was dropped and reloaded: from the store's sequence when there is a
// store (every registry writing through it draws from it), else from the registry's own.
func (r *Registry) nextSeq() uint64 {
	if st := r.cfg.Store; st != nil {
		return st.seq.Add(1)
	}
	return r.seq.Add(1)
}

// markDirty schedules o to be written within FlushDelay: one debounced timer per registry.
func (r *Registry) markDirty(o *Object) {
	if !o.persistent || r.cfg.Store == nil {
		return
	}
	r.dirty[o] = struct{}{}
	if r.timer == nil && !r.closed {
		r.timer = time.AfterFunc(r.cfg.FlushDelay, r.autoFlush)
	}
}

func (r *Registry) autoFlush() {
	err := r.Flush()
	if err != nil {
		r.cfg.Logger.Error().Err(err).Msg("auto-flush of shared objects")
	}
	if r.afterAutoFlush != nil {
		r.afterAutoFlush(err)
	}
}

// Flush writes every persistent object with unwritten changes now.
func (r *Registry) Flush() error {
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	ws := make([]*pendingWrite, 0, len(r.dirty))
	for o := range r.dirty {
		if o.seq != o.savedSeq {
			ws = append(ws, o.snapshot())
		}
	}
	clear(r.dirty)
	r.mu.Unlock()
	return r.write(ws)
}

// snapshot encodes o's state (lock held; cheap: slot values are already encoded).
func (o *Object) snapshot() *pendingWrite {
	return &pendingWrite{o: o, seq: o.seq, data: encodeFile(o.version, o.sortedSlots(), o.hist.from, o.hist.live())}
}

// write stores snapshots (lock not held), then records what was saved; an object whose write
// failed stays dirty and is retried on the next flush.
func (r *Registry) write(ws []*pendingWrite) error {
	errs := make([]error, len(ws))
	for i, w := range ws {
		errs[i] = r.cfg.Store.save(w.o.name, w.seq, w.data)
	}
	r.mu.Lock()
	for i, w := range ws {
		if errs[i] != nil {
			if !w.o.dropped {
				r.dirty[w.o] = struct{}{}
			}
			continue
		}
		if w.o.savedSeq < w.seq {
			w.o.savedSeq = w.seq
		}
		r.maybeDrop(w.o)
	}
	r.unlock()
	return errors.Join(errs...)
}

// restore loads a snapshot into a new object (limits are not applied: they bound growth, and a
// stored object was within them when written).
func (o *Object) restore(snap *snapshot) {
	o.version = snap.version
	for _, s := range snap.slots {
		o.slots[s.key] = s
		o.bytes += s.size()
	}
	o.nextOrder = uint64(len(snap.slots))
	o.hist.from = snap.histFrom
	slices.SortStableFunc(snap.tombs, func(a, b tomb) int { return cmp.Compare(a.ver, b.ver) })
	for _, t := range snap.tombs {
		if o.slots[t.key] == nil {
			o.hist.add(t.key, t.ver)
		}
	}
	o.trimHistory() // the limits may have shrunk since the file was written
	// On disk already: counted by the quota when it was made, or charged when it was written.
	o.charged = o.fileBytes(o.bytes, len(o.slots))
}
