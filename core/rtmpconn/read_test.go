package rtmpconn

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// countHandler counts media messages and signals when the count reaches target.
type countHandler struct {
	recvHandler
	n, target atomic.Int64
	done      chan struct{}
}

func (h *countHandler) HandleMedia(*Conn, uint32, uint8, uint32, []byte) error {
	if h.n.Add(1) == h.target.Load() {
		h.done <- struct{}{}
	}
	return nil
}

// BenchmarkReaderLoopback: a publisher streaming 1000-byte video messages (8 chunks each) over
// loopback TCP into the read loop. The read path must not allocate per message.
func BenchmarkReaderLoopback(b *testing.B) {
	h := &countHandler{recvHandler: *newRecvHandler(), done: make(chan struct{}, 1)}
	_, cc := servedPair(b, h)
	w := wire{chunk.NewWriter()}
	one := w.message(chunk.Header{CSID: 6, TypeID: rtmpmsg.TypeVideo, StreamID: 1}, make([]byte, 1000))
	var block []byte
	for range 64 {
		block = append(block, one...)
	}
	h.target.Store(int64(b.N))
	b.ReportAllocs()
	b.SetBytes(int64(len(one)))
	b.ResetTimer()
	go func() {
		for sent := 0; sent < b.N; sent += 64 {
			if _, err := cc.Write(block); err != nil {
				return
			}
		}
	}()
	<-h.done
}

// BenchmarkReaderIdleWake: one message at a time, each sent once the previous one was handled,
// on a connection never counted as busy, so that the read loop parks without its buffer and
// wakes for every message (the path of players' acknowledgements and of RPC clients). It must
// not allocate either.
func BenchmarkReaderIdleWake(b *testing.B) {
	rt := newRuntime(1)
	rt.busyMessages = math.MaxUint32
	h := &countHandler{recvHandler: *newRecvHandler(), done: make(chan struct{}, 1)}
	c, cc := servedPairWith(b, h, Config{Runtime: rt})
	w := wire{chunk.NewWriter()}
	one := w.message(chunk.Header{CSID: 4, TypeID: rtmpmsg.TypeAudio, StreamID: 1}, make([]byte, 100))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.target.Store(int64(i + 1))
		if _, err := cc.Write(one); err != nil {
			b.Fatal(err)
		}
		<-h.done
	}
	b.StopTimer()
	b.ReportMetric(float64(c.idleWaits.Load())/float64(b.N), "parks/op")
}
