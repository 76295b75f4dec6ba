package live

import (
	"strconv"
	"testing"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// ringSub accepts into a preallocated ring, as a connection's queue would.
type ringSub struct {
	ring []*media.Packet
	n    int
}

func (r *ringSub) Deliver(p *media.Packet, _ uint32) bool {
	if r.ring[r.n] != nil {
		r.ring[r.n].Release()
	}
	r.ring[r.n] = p
	r.n = (r.n + 1) % len(r.ring)
	return true
}
func (*ringSub) Notify(Event) {}
func (*ringSub) CutOff(error) {}

func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := NewHub(Config{}, zerolog.Nop())
			defer h.Close()
			pb, _ := h.Publish("s", &fakePub{})
			for i := 0; i < n; i++ {
				h.Subscribe("s", &ringSub{ring: make([]*media.Packet, 64)})
			}
			payload := inter(1)
			write(pb, 9, 0, key(0))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				write(pb, 9, uint32(i), payload)
				if i%500 == 499 { // keep the GOP cache short, as a real GOP would
					write(pb, 9, uint32(i), key(0))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}
