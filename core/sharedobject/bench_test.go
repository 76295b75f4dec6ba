package sharedobject

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// countSub is a subscriber whose Send only counts, like a connection's non-blocking enqueue.
type countSub struct{ n atomic.Int64 }

func (c *countSub) Send(*rtmpmsg.SharedObjectMessage, bool) { c.n.Add(1) }

// BenchmarkFanout1000 is one client change reaching 1,000 subscribers (half AMF0, half AMF3).
func BenchmarkFanout1000(b *testing.B) {
	r := New(Config{})
	subs := make([]*countSub, 1000)
	for i := range subs {
		subs[i] = &countSub{}
		if err := r.Handle(fmt.Sprint(i), subs[i], i%2 == 1, clientMsg(b, "o", false, i%2 == 1, use())); err != nil {
			b.Fatal(err)
		}
	}
	msgs := [2]*rtmpmsg.SharedObjectMessage{
		clientMsg(b, "o", false, false, reqChange("k", "a value")),
		clientMsg(b, "o", false, false, reqChange("k", "another value")),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := r.Handle("0", subs[0], false, msgs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := subs[999].n.Load(); got < int64(b.N) {
		b.Fatalf("subscriber got %d of %d", got, b.N)
	}
}

// BenchmarkWriters100 is changes per second on one object with 100 concurrent writing clients,
// each also a subscriber of everyone else's changes.
func BenchmarkWriters100(b *testing.B) {
	r := New(Config{})
	const writers = 100
	subs := make([]*countSub, writers)
	for i := range subs {
		subs[i] = &countSub{}
		if err := r.Handle(fmt.Sprint(i), subs[i], false, clientMsg(b, "o", false, false, use())); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(next.Add(1)-1) % writers
		msgs := [2]*rtmpmsg.SharedObjectMessage{
			clientMsg(b, "o", false, false, reqChange(fmt.Sprint("slot", w), 1.0)),
			clientMsg(b, "o", false, false, reqChange(fmt.Sprint("slot", w), 2.0)),
		}
		for i := 0; pb.Next(); i++ {
			if err := r.Handle(fmt.Sprint(w), subs[w], false, msgs[i%2]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
}
