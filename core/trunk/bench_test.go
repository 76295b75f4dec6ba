package trunk

import (
	"bufio"
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/fmsgo/fmsgo/core/media"
)

func BenchmarkEncodeMedia4K(b *testing.B) {
	m := StreamMedia{Type: 9, Timestamp: 1234, Payload: make([]byte, 4096)}
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Payload)))
	for b.Loop() {
		buf = AppendMediaFrame(buf[:0], 1, m)
	}
}

// repeatReader serves the same bytes forever, so decoding is measured without I/O setup per frame.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

func BenchmarkDecodeMedia4K(b *testing.B) {
	frame := AppendFrame(nil, 1, StreamMedia{Type: 9, Timestamp: 1234, Payload: make([]byte, 4096)})
	rd := NewReader(bufio.NewReaderSize(&repeatReader{b: frame}, 64<<10), 0)
	b.ReportAllocs()
	b.SetBytes(4096)
	for b.Loop() {
		f, err := rd.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		m, err := DecodeStreamMedia(f.Body)
		if err != nil || len(m.Payload) != 4096 {
			b.Fatal(err)
		}
	}
}

// TestDecodeMediaAllocs is not parallel: AllocsPerRun counts the whole process.
func TestDecodeMediaAllocs(t *testing.T) {
	frame := AppendFrame(nil, 1, StreamMedia{Type: 9, Payload: make([]byte, 4096)})
	rd := NewReader(bufio.NewReader(bytes.NewReader(bytes.Repeat(frame, 200))), 0)
	rd.ReadFrame() // warm the reused buffer
	allocs := testing.AllocsPerRun(100, func() {
		f, _ := rd.ReadFrame()
		_, _ = DecodeStreamMedia(f.Body)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per media frame", allocs)
	}
}

// BenchmarkLoopbackMedia measures trunk throughput: 4 KiB media frames over loopback TCP.
func BenchmarkLoopbackMedia(b *testing.B) {
	el, ol := linkPair(b)
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	edge := NewConn(el, Config{}, func(f Frame) error {
		if f.Kind == KindStreamMedia && got.Add(1) == target {
			close(done)
		}
		return nil
	})
	origin := NewConn(ol, Config{}, func(Frame) error { return nil })
	go edge.Serve(context.Background())
	go origin.Serve(context.Background())
	b.Cleanup(func() { edge.Close(); origin.Close() })
	m := StreamMedia{Type: 9, Payload: make([]byte, 4096)}
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Timestamp = uint32(i)
		for origin.SendMedia(1, m) == ErrQueueFull {
			runtime.Gosched() // the writer drains; a live hub would drop instead
		}
	}
	<-done
}

// BenchmarkEdgeDelivery is the origin's cost of one hub message delivered to one edge over a
// loopback trunk (4 KiB video, the receiving edge only counts frames): "copy" is what
// origin.trunkSubscriber did before (a fresh copy of the payload per edge, then SendMedia),
// "ref" is SendPacket, which queues the hub's pooled packet by reference and releases it once
// written; "publish" is an edge publisher's message as edge.HandleMedia sends it now (the one
// copy into a pooled packet, then MediaSender), where it was a fresh copy and SendMedia ("copy"
// without the packet). The media queue is capped at 256 KiB so that, as under a paced live stream, the
// packets in flight stay few and the pool recycles them.
func BenchmarkEdgeDelivery(b *testing.B) {
	for _, mode := range []string{"copy", "ref", "publish"} {
		b.Run(mode, func(b *testing.B) {
			el, ol := linkPair(b)
			var got atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			edge := NewConn(el, Config{}, func(f Frame) error {
				if f.Kind == KindStreamMedia && got.Add(1) == target {
					close(done)
				}
				return nil
			})
			origin := NewConn(ol, Config{MaxMediaBytes: 256 << 10}, func(Frame) error { return nil })
			go edge.Serve(context.Background())
			go origin.Serve(context.Background())
			b.Cleanup(func() { edge.Close(); origin.Close() })
			payload := make([]byte, 4096)
			payload[0] = 0x27
			if mode == "publish" {
				benchPublish(b, origin, payload, done)
				return
			}
			b.ReportAllocs()
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := media.NewPacket(9, uint32(i), payload) // the publisher's one copy, as in the hub
				for !deliverOnce(origin, mode, p) {
					runtime.Gosched() // the writer drains; a live hub would skip instead
				}
				p.Release() // the hub's own reference
			}
			<-done
		})
	}
}

// benchPublish sends b.N messages as an edge publisher does, waiting for room when the queue is
// full (a real publisher's would be dropped and the gap marked).
func benchPublish(b *testing.B, c *Conn, payload []byte, done <-chan struct{}) {
	s := NewMediaSender(c, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		payload[0] = 0x27
		if i == 0 {
			payload[0] = 0x17
		}
		for {
			if !s.skipVideo || payload[0] == 0x17 {
				if c.q.room(len(payload) + mediaHdrSize + gapFrameSize) {
					break
				}
			}
			runtime.Gosched()
		}
		if err := s.Send(media.NewPacket(9, uint32(i), payload)); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// deliverOnce is one Deliver of trunkSubscriber, old or new: the hub retains p for it and
// releases that reference itself when the delivery is refused.
func deliverOnce(c *Conn, mode string, p *media.Packet) bool {
	p.Retain()
	var err error
	if mode == "copy" {
		err = c.SendMedia(1, StreamMedia{Type: p.TypeID, Timestamp: p.Timestamp, Payload: append([]byte(nil), p.Payload...)})
		if err == nil {
			p.Release()
		}
	} else {
		err = c.SendPacket(1, p, p.Timestamp)
	}
	if err != nil {
		p.Release()
	}
	return err == nil
}
