// Package media holds immutable media messages shared by every reader of a live stream, and the
// FLV/enhanced-RTMP payload inspection the hub needs (keyframes, sequence headers, codecs). A
// payload is copied once from the publisher's connection into a pooled buffer; after that, a
// thousand players reference the same bytes, and the buffer goes back to its pool when the last
// reference is released — no allocation per message in steady state.
package media

import (
	"sync"
	"sync/atomic"
)

// Packet is one audio (8), video (9) or data (18) message of a live stream. Its fields never
// change after NewPacket; readers hold references with Retain/Release.
type Packet struct {
	TypeID    uint8
	Timestamp uint32
	Payload   []byte
	Info

	refs  atomic.Int32
	class int     // size class of the pooled buffer, -1 if not pooled
	buf   *[]byte // the pooled buffer's box, reused so that recycling allocates nothing
}

// size classes of pooled payload buffers: 256 B .. 4 MiB, doubling. Larger payloads are allocated.
const (
	minClassShift = 8
	numClasses    = 15
)

var (
	packetPool = sync.Pool{New: func() any { return new(Packet) }}
	bufPools   [numClasses]sync.Pool
)

func classFor(n int) int {
	c := 0
	for size := 1 << minClassShift; size < n; size <<= 1 {
		c++
	}
	if c >= numClasses {
		return -1
	}
	return c
}

func getBuf(n int) (*[]byte, int) {
	c := classFor(n)
	if c < 0 {
		b := make([]byte, n)
		return &b, -1
	}
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b, c
	}
	b := make([]byte, n, 1<<(minClassShift+c))
	return &b, c
}

// NewPacket copies src into a pooled buffer, classifies it, and returns it with one reference.
func NewPacket(typeID uint8, ts uint32, src []byte) *Packet {
	p := packetPool.Get().(*Packet)
	p.TypeID, p.Timestamp = typeID, ts
	p.buf, p.class = getBuf(len(src))
	p.Payload = *p.buf
	copy(p.Payload, src)
	p.Info = Classify(typeID, p.Payload)
	p.refs.Store(1)
	return p
}

// Refs is the number of references held now: a test that kept one of its own checks that a
// flow released every other one (1 left) before it releases its own.
func (p *Packet) Refs() int32 { return p.refs.Load() }

// Retain adds a reference and returns p, for chaining.
func (p *Packet) Retain() *Packet {
	p.refs.Add(1)
	return p
}

// Release drops a reference; the last one recycles the buffer.
func (p *Packet) Release() {
	n := p.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("media: packet released more often than retained")
	}
	if p.class >= 0 {
		bufPools[p.class].Put(p.buf)
	}
	p.Payload, p.buf = nil, nil
	packetPool.Put(p)
}
