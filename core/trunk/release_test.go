package trunk

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/media"
)

// heldPackets makes n video packets and keeps one reference of each for the test, so that after
// the trunk gave back everything it took each reads Refs() == 1: 2 means a reference leaked, 0
// that one was released twice (and the packet recycled under a reader).
func heldPackets(n, size int) []*media.Packet {
	ps := make([]*media.Packet, n)
	payload := make([]byte, size)
	payload[0] = 0x27 // inter frame, AVC
	for i := range ps {
		ps[i] = media.NewPacket(9, uint32(i), payload)
	}
	return ps
}

func checkReleased(t *testing.T, ps []*media.Packet) {
	t.Helper()
	for i, p := range ps {
		if r := p.Refs(); r != 1 {
			t.Fatalf("packet %d holds %d references, want only the test's 1", i, r)
		}
		p.Release()
	}
}

// pipeConn is a trunk over a net.Pipe whose far end never reads: its writer blocks on the first
// write, so everything else stays queued.
func pipeConn(t *testing.T, cfg Config) *Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { b.Close() })
	link := &Link{NetConn: a, Reader: bufio.NewReader(a), Version: ProtocolVersion, PeerID: "stuck",
		PeerMaxFrame: DefaultMaxFrame, LocalMaxFrame: DefaultMaxFrame}
	return NewConn(link, cfg, func(Frame) error { return nil })
}

// TestSendPacketReleasesOnceWritten: every packet sent by reference is released by the writer
// exactly once after it was written, and the peer received every payload intact.
func TestSendPacketReleasesOnceWritten(t *testing.T) {
	t.Parallel()
	el, ol := linkPair(t)
	const n = 500
	var mu sync.Mutex
	got := 0
	all := make(chan struct{})
	edge := NewConn(el, Config{}, func(f Frame) error {
		if f.Kind != KindStreamMedia {
			return nil
		}
		m, err := DecodeStreamMedia(f.Body)
		if err != nil || len(m.Payload) != 3000 || m.Payload[0] != 0x27 {
			return errors.New("bad media frame")
		}
		mu.Lock()
		got++
		if got == n {
			close(all)
		}
		mu.Unlock()
		return nil
	})
	origin := NewConn(ol, Config{}, func(Frame) error { return nil })
	serve(t, edge)
	oerr := serve(t, origin)
	ps := heldPackets(n, 3000)
	for i, p := range ps {
		if err := origin.SendPacket(1, p.Retain(), uint32(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	<-all
	origin.Close()
	<-oerr // Serve returns after the writer goroutine ended
	checkReleased(t, ps)
}

// TestSendPacketDropKeepsReference: a packet the full media queue refuses stays the caller's.
func TestSendPacketDropKeepsReference(t *testing.T) {
	t.Parallel()
	c := pipeConn(t, Config{MaxMediaBytes: 10 << 10})
	errc := serve(t, c)
	ps := heldPackets(20, 4000)
	full := 0
	for i, p := range ps {
		err := c.SendPacket(1, p.Retain(), uint32(i))
		if errors.Is(err, ErrQueueFull) {
			full++
			p.Release() // the caller's reference, as a live hub does on a refused Deliver
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full == 0 {
		t.Fatal("the 10 KiB media queue took 80 KB")
	}
	c.Close()
	<-errc
	checkReleased(t, ps)
}

// TestSendPacketReleasedOnClose: packets still queued (and the one the writer was blocked on)
// when the trunk closes are released exactly once.
func TestSendPacketReleasedOnClose(t *testing.T) {
	t.Parallel()
	c := pipeConn(t, Config{})
	errc := serve(t, c)
	ps := heldPackets(200, 2000)
	for i, p := range ps {
		if err := c.SendPacket(1, p.Retain(), uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	<-errc
	checkReleased(t, ps)
	late := heldPackets(1, 10)
	if err := c.SendPacket(1, late[0].Retain(), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	late[0].Release() // refused: the reference stayed ours
	checkReleased(t, late)
}
