package trunk

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkLoopbackRPC measures small session messages in round trips over loopback TCP with
// 100 concurrent callers, as an edge carries RPC calls: each caller sends a call and waits for
// its echo. frames/write is how many frames each write syscall carried (both directions).
func BenchmarkLoopbackRPC(b *testing.B) {
	el, ol := linkPair(b)
	const callers = 100
	answers := make([]chan struct{}, callers)
	for i := range answers {
		answers[i] = make(chan struct{}, 1)
	}
	edge := NewConn(el, Config{}, func(f Frame) error {
		if f.Kind == KindSessionMessage && f.ID >= 1 && f.ID <= callers {
			answers[f.ID-1] <- struct{}{}
		}
		return nil
	})
	var origin *Conn
	origin = NewConn(ol, Config{}, func(f Frame) error {
		if f.Kind != KindSessionMessage {
			return nil
		}
		m, err := DecodeSessionMessage(f.Body)
		if err != nil {
			return err
		}
		return origin.sendCtrl(f.ID, m)
	})
	go edge.Serve(context.Background())
	go origin.Serve(context.Background())
	b.Cleanup(func() { edge.Close(); origin.Close() })
	call := SessionMessage{Type: 20, Payload: make([]byte, 40)}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range uint32(callers) {
		id := i + 1 // session ids start at 1: 0 is the trunk itself
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := edge.sendCtrl(id, call); err != nil {
					b.Error(err)
					return
				}
				<-answers[id-1]
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	frames := 2 * float64(b.N)
	b.ReportMetric(frames/float64(max(edge.writes.Load()+origin.writes.Load(), 1)), "frames/write")
}

// TestQueuedFramesMatchAppendFrame checks the encoders of the hot paths (Ack, SendSession, any
// control message) against the generic AppendFrame, byte for byte, as queued for the writer.
func TestQueuedFramesMatchAppendFrame(t *testing.T) {
	t.Parallel()
	el, _ := linkPair(t)
	c := NewConn(el, Config{}, func(Frame) error { return nil }) // not served: frames stay queued
	c.credits.open(5, 1<<16)
	msg := SessionMessage{Type: 20, StreamID: 7, Timestamp: 99, Payload: []byte{1, 2, 3}}
	big := SessionMessage{Type: 17, Payload: make([]byte, 3*ctrlFrameCap)}
	status := StreamStatus{Code: 404, Description: "a description longer than the usual frame buffer " +
		"so that the encoder has to grow it at least once before the frame is complete"}
	want := [][]byte{AppendFrame(nil, 9, SessionAck{Bytes: 1234}), AppendFrame(nil, 5, msg),
		AppendFrame(nil, 5, big), AppendFrame(nil, 3, status), AppendFrame(nil, 0, Ping{Time: 42})}
	if err := errors.Join(c.Ack(9, 1234), c.SendSession(5, msg), c.SendSession(5, big),
		c.Send(3, status), c.Send(0, Ping{Time: 42})); err != nil {
		t.Fatal(err)
	}
	got := c.q.takeCtrl(nil)
	if len(got) != len(want) {
		t.Fatalf("%d frames queued, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].hn != 0 || string(got[i].data) != string(want[i]) {
			t.Errorf("frame %d: %x, want %x", i, got[i].data, want[i])
		}
	}
}
