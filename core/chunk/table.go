package chunk

import (
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
// the 24-bit length field allows), pooled across connections: a buffer outgrown or released by
// one reader serves the next, so connection churn and keyframe growth do not churn the heap.
const (
	minClass = 7
	maxClass = 24
)

var bufPools [maxClass + 1]sync.Pool

func classOf(n uint32) int {
	return max(bits.Len32(n-1), minClass)
}

// getBuf returns a buffer of length and capacity 1<<classOf(n), in the box it travels in through
// the pool: the box is kept with the buffer, so that giving it back allocates nothing (a reader
// releases its buffers each time its connection goes idle).
func getBuf(n uint32) *[]byte {
	c := classOf(n)
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		*p = (*p)[:cap(*p)]
		return p
	}
	b := make([]byte, 1<<c)
	return &b
}

// putBuf pools the buffer in p if its capacity is one of the size classes (nil is ignored).
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	if c < 1<<minClass || c > 1<<maxClass || c&(c-1) != 0 {
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

// grow makes room for end bytes of the current message: at least double the old capacity (so a
// message costs O(log n) copies) but never beyond the message length rounded to its class, and
// driven by bytes that actually arrived, not by the length the header announced.
func (cs *streamState) grow(end uint32) {
	want := max(end, 2*uint32(cap(cs.buf)))
	want = min(want, cs.hdr.Length)
	nb := getBuf(want)
	copy(*nb, cs.buf[:cs.have])
	putBuf(cs.box)
	cs.setBuf(nb)
}
