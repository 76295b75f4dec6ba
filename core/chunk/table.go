package chunk

import (
	"math/bits"
	"sync"
)

// streamTable finds a chunk stream's state without hashing: ids below 64 (one-byte basic header,
// what every real client uses) index a fixed array; the rare larger ids are searched linearly in
// a slice bounded by Limits.MaxChunkStreams. States are allocated once per chunk stream, never per
// message.
type streamTable struct {
	direct [64]*streamState
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

// getBuf returns a buffer of length and capacity 1<<classOf(n).
func getBuf(n uint32) []byte {
	c := classOf(n)
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		return (*p)[:cap(*p)]
	}
	return make([]byte, 1<<c)
}

// putBuf pools b if its capacity is one of the size classes.
func putBuf(b []byte) {
	c := cap(b)
	if c < 1<<minClass || c > 1<<maxClass || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	bufPools[bits.Len(uint(c))-1].Put(&b)
}

// grow makes room for end bytes of the current message: at least double the old capacity (so a
// message costs O(log n) copies) but never beyond the message length rounded to its class, and
// driven by bytes that actually arrived, not by the length the header announced.
func (cs *streamState) grow(end uint32) {
	want := max(end, 2*uint32(cap(cs.buf)))
	want = min(want, cs.hdr.Length)
	nb := getBuf(want)
	copy(nb, cs.buf[:cs.have])
	putBuf(cs.buf)
	cs.buf = nb
}
