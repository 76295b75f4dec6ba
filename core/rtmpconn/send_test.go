package rtmpconn

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// nopHandler ignores everything a client sends.
type nopHandler struct{ closed chan error }

func (nopHandler) HandleCommand(*Conn, uint32, *rtmpmsg.Command) error                { return nil }
func (nopHandler) HandleData(*Conn, uint32, uint32, *rtmpmsg.Data) error              { return nil }
func (nopHandler) HandleMedia(*Conn, uint32, uint8, uint32, []byte) error             { return nil }
func (nopHandler) HandleSharedObject(*Conn, *rtmpmsg.SharedObjectMessage, bool) error { return nil }
func (h nopHandler) Closed(_ *Conn, err error)                                        { h.closed <- err }

// pair is a served connection and the client socket talking to it, handshake done.
type pair struct {
	c      *Conn
	client net.Conn
	rd     *chunk.Reader
	closed chan error
}

// newPair serves a connection with cfg and shakes hands from the client side.
func newPair(t testing.TB, cfg Config) *pair {
	t.Helper()
	return servePair(t, context.Background(), cfg)
}

// heldTick is a tick whose goroutine never starts: the test flushes it by hand.
func heldTick() *tick { return &tick{interval: time.Hour, running: true} }

func (p *pair) writes() uint64 {
	return p.c.Stats.Writes.Load()
}

func videoPacket(key bool, n int) *media.Packet {
	b := make([]byte, n)
	b[0] = 0x27
	if key {
		b[0] = 0x17
	}
	b[1] = 1
	return media.NewPacket(9, 0, b)
}

// TestTickCoalescesMedia: media waits for the tick and then leaves in one write, in order, with
// each player's own timestamps: every SendMedia, whoever calls it.
func TestTickCoalescesMedia(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{MediaFlushInterval: -1})
	p.c.tick.Store(heldTick())
	sizes := []int{300, 20, 5000, 7, 129}
	for i, n := range sizes {
		pkt := videoPacket(i == 0, n)
		if !p.c.SendMedia(1, pkt, uint32(40*i), 0) {
			t.Fatal("refused")
		}
	}
	if w := p.writes(); w != 0 {
		t.Fatalf("%d writes before the tick", w)
	}
	if more := p.c.tick.Load().pendingLen(); more != 1 {
		t.Fatalf("connection listed %d times, want once", more)
	}
	p.c.tick.Load().flushOnce(nil)
	for i, n := range sizes {
		h, payload, err := p.rd.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if h.TypeID != 9 || h.StreamID != 1 || h.Timestamp != uint32(40*i) || len(payload) != n {
			t.Fatalf("message %d: %+v, %d bytes", i, h, len(payload))
		}
	}
	if w := p.writes(); w != 1 {
		t.Fatalf("%d writes for one tick, want 1", w)
	}
}

// TestFlushSkipsTick: Flush (a player's first keyframe) writes what is queued at once, in one
// write from the caller.
func TestFlushSkipsTick(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{MediaFlushInterval: -1})
	p.c.tick.Store(heldTick())
	if !p.c.SendMedia(1, videoPacket(true, 50), 7, 0) || !p.c.SendMedia(1, videoPacket(false, 50), 8, 0) {
		t.Fatal("refused")
	}
	if w := p.writes(); w != 0 {
		t.Fatalf("%d writes before the flush", w)
	}
	p.c.Flush()
	for _, want := range []uint32{7, 8} {
		if h, _, err := p.rd.ReadMessage(); err != nil || h.Timestamp != want {
			t.Fatalf("%+v %v", h, err)
		}
	}
	if w := p.writes(); w != 1 {
		t.Fatalf("%d writes for one flush, want 1", w)
	}
}

// TestTickRuns: with a real interval the tick's goroutine writes without any help.
func TestTickRuns(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{MediaFlushInterval: 5 * time.Millisecond})
	for i := range 3 {
		p.c.SendMedia(1, videoPacket(i == 0, 100), uint32(i), 0)
	}
	for i := range 3 {
		h, _, err := p.rd.ReadMessage()
		if err != nil || h.Timestamp != uint32(i) {
			t.Fatalf("message %d: %+v %v", i, h, err)
		}
	}
}

// TestTickDisabledWritesAsMediaArrives: with a negative interval the writer goroutine writes
// media as it arrives, with no tick.
func TestTickDisabledWritesAsMediaArrives(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{MediaFlushInterval: -1})
	p.c.SendMedia(1, videoPacket(true, 100), 1, 0)
	p.c.SendMedia(1, videoPacket(false, 100), 2, 0)
	for i := range 2 {
		if h, _, err := p.rd.ReadMessage(); err != nil || h.Timestamp != uint32(i+1) {
			t.Fatalf("%+v %v", h, err)
		}
	}
}

// TestBudgetStillRefusesWhileWaiting: what waits for the tick counts against the player's
// budget, so a slow player is still skipped ahead by the hub, and a written packet is released.
func TestBudgetStillRefusesWhileWaiting(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{MediaFlushInterval: -1})
	p.c.tick.Store(heldTick())
	first := videoPacket(true, 200)
	if !p.c.SendMedia(1, first.Retain(), 0, 1000) { // under a quarter: waits (the test keeps a reference)
		t.Fatal("first refused")
	}
	pkt := videoPacket(false, 900)
	if p.c.SendMedia(1, pkt, 40, 1000) {
		t.Fatal("over budget accepted")
	}
	pkt.Release() // refused: the caller keeps its reference
	p.c.tick.Load().flushOnce(nil)
	if _, _, err := p.rd.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	// The client can read the bytes before the writer has released the packet: wait for it.
	for deadline := time.Now().Add(5 * time.Second); first.Refs() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d references left after the write, want the test's own", first.Refs())
		}
	}
	first.Release()
}

// BenchmarkSendMediaTick: one delivered message through the coalesced path, a tick every 4
// messages, to a client that drains the socket. It must not allocate.
func BenchmarkSendMediaTick(b *testing.B) {
	p := newPair(b, Config{MediaFlushInterval: -1})
	p.c.tick.Store(heldTick())
	go func() { _, _ = io.Copy(io.Discard, p.client) }()
	_ = p.client.SetDeadline(time.Time{})
	pkt := videoPacket(false, 2000)
	var batch []*Conn
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.c.SendMedia(1, pkt.Retain(), uint32(i), 0)
		if i%4 == 3 {
			batch, _ = p.c.tick.Load().flushOnce(batch)
		}
	}
	b.StopTimer()
	p.c.tick.Load().flushOnce(batch)
	pkt.Release()
}

// TestLargeQueueSkipsTick: once a tick's worth of media reaches tickFlushBytes (or a quarter of
// the budget) the writer goroutine writes it at once, so a high-bitrate stream never fills a player's budget
// while waiting for the tick.
func TestLargeQueueSkipsTick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		budget int
		sizes  []int
	}{
		{"tickFlushBytes", 0, []int{40 << 10, 30 << 10}},
		{"quarter of budget", 64 << 10, []int{10 << 10, 7 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, Config{MediaFlushInterval: -1})
			p.c.tick.Store(heldTick())
			for i, n := range tc.sizes {
				if !p.c.SendMedia(1, videoPacket(i == 0, n), uint32(i), tc.budget) {
					t.Fatal("refused")
				}
			}
			for i, n := range tc.sizes { // no tick ran: the size alone sent them
				h, payload, err := p.rd.ReadMessage()
				if err != nil || h.Timestamp != uint32(i) || len(payload) != n {
					t.Fatalf("message %d: %+v, %d bytes, %v", i, h, len(payload), err)
				}
			}
		})
	}
}
