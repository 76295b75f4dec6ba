package trunk

import (
	"bufio"
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"
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
