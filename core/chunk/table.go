package chunk

import (
	"fmt"
	"math/bits"
	"sync"
)

// streamTable finds a chunk stream's state without hashing: ids below 16 (ffmpeg, librtmp, OBS
// and Flash use 2..8 for one stream) index a fixed array; the rare larger ids are searched
// linearly in a slice bounded by Limits.MaxChunkStreams. The array is kept that short because
// every connection carries one, idle or not (64 pointers were 512 bytes per client). States are
// allocated once per chunk stream, never per message.
type streamTable struct {
	direct [16]*streamState
	more   []*streamState
	n      int
}

func (t *streamTable) get(csid uint32) *streamState {
	if csid < uint32(len(t.direct)) {
		return t.direct[csid]
	}
	for _, cs := range t.more {
		if cs.hdr.CSID == csid {
			return cs
		}
	}
	return nil
}

func (t *streamTable) add(csid uint32) *streamState {
	cs := &streamState{hdr: Header{CSID: csid}}
	if csid < uint32(len(t.direct)) {
		t.direct[csid] = cs
	} else {
		t.more = append(t.more, cs)
	}
	t.n++
	return cs
}

func (t *streamTable) each(fn func(*streamState)) {
	for _, cs := range t.direct {
		if cs != nil {
			fn(cs)
		}
	}
	for _, cs := range t.more {
		fn(cs)
	}
}

// Reassembly buffers come in power-of-two size classes from 128 B to 16 MiB (the largest message
// the 24-bit length field allows). Buffers up to 64 KiB are pooled across connections: a buffer
// outgrown or released by one reader serves the next, so connection churn and idle wake-ups do not
// churn the heap. Larger ones (keyframes) are left to the garbage collector: a pool is emptied
// only by collections, and an idle process runs none, so pooled giant buffers would stay resident
// long after the connections that needed them have gone.
const (
	minClass       = 7
	maxPooledClass = 16
)

var bufPools [maxPooledClass + 1]sync.Pool

func classOf(n uint32) int {
	return max(bits.Len32(n-1), minClass)
}

// getBuf returns a buffer of length and capacity 1<<classOf(n), in the box it travels in through
// the pool: the box is kept with the buffer, so that giving it back allocates nothing (a reader
// releases its buffers each time its connection goes idle).
func getBuf(n uint32) *[]byte {
	c := classOf(n)
	if c <= maxPooledClass {
		if p, ok := bufPools[c].Get().(*[]byte); ok {
			*p = (*p)[:cap(*p)]
			return p
		}
	}
	b := make([]byte, 1<<c)
	return &b
}

// putBuf pools the buffer in p if its capacity is one of the pooled size classes (nil and other
// buffers are ignored).
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	if c < 1<<minClass || c > 1<<maxPooledClass || c&(c-1) != 0 {
		return
	}
	*p = (*p)[:0]
	bufPools[bits.Len(uint(c))-1].Put(p)
}

// setBuf makes p (possibly nil) the chunk stream's reassembly buffer.
func (cs *streamState) setBuf(p *[]byte) {
	cs.box = p
	cs.buf = nil
	if p != nil {
		cs.buf = *p
	}
}

// growStep is how far past the bytes received a buffer may grow at once: a message's first
// buffer is at most this large whatever its header or the chunk size announced, and later ones
// at most double.
const growStep = 4096

// grow replaces the full buffer of cs, which needs room for more bytes of the current chunk
// (chunkLeft), with one at least twice as large (or large enough for the chunk, up to growStep
// more) but never beyond the message length rounded to its class: a message costs O(log n)
// copies, and the reader never holds more than about twice what arrived. The new capacity is
// counted against the limits before anything is allocated.
func (r *Reader) grow(cs *streamState, chunkLeft uint32) error {
	old := cap(cs.buf)
	want := min(cs.hdr.Length, max(cs.have+min(chunkLeft, growStep), 2*uint32(old)))
	if err := r.reserve(cs, 1<<classOf(want)-old); err != nil {
		return err
	}
	nb := getBuf(want)
	copy(*nb, cs.buf[:cs.have])
	putBuf(cs.box)
	cs.setBuf(nb)
	return nil
}

// reserve counts delta more bytes of buffer capacity for cs. Past the connection's limit or the
// shared budget, the buffers of other chunk streams that hold no partial message are given back
// first (they are only kept for reuse); then the limit refuses, or the budget closes its largest
// holder (possibly this reader: the error).
func (r *Reader) reserve(cs *streamState, delta int) error {
	if r.held+delta > r.lim.MaxBufferedBytes {
		r.reclaim(cs)
		if r.held+delta > r.lim.MaxBufferedBytes {
			return fmt.Errorf("%w (limit %d)", ErrBufferLimit, r.lim.MaxBufferedBytes)
		}
	}
	r.held += delta
	if r.share == nil || !r.budget.add(r.share, delta) {
		return nil
	}
	r.reclaim(cs)
	return r.budget.enforce(r.share)
}

// reclaim gives back the buffers of the chunk streams other than keep that are not in the middle
// of a message.
func (r *Reader) reclaim(keep *streamState) {
	r.streams.each(func(cs *streamState) {
		if cs != keep && !cs.inMsg {
			r.dropBuf(cs)
		}
	})
}

// dropBuf gives the buffer of cs back to the pools and uncounts it.
func (r *Reader) dropBuf(cs *streamState) {
	n := cap(cs.buf)
	if n == 0 {
		return
	}
	putBuf(cs.box)
	cs.setBuf(nil)
	r.held -= n
	if r.share != nil {
		r.budget.add(r.share, -n)
	}
}
