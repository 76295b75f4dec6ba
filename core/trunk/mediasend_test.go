package trunk

import (
	"bufio"
	"errors"
	"net"
	"runtime"
	"testing"

	"github.com/fmsgo/fmsgo/core/media"
)

// sentFrame is what the far end of a pipe read: media (type, keyframe) or a gap mark.
type sentFrame struct {
	kind    Kind
	key     bool
	dropped uint32
}

// readMedia reads the media and gap frames a Conn writes into the far end of a pipe.
func readMedia(nc net.Conn, out chan<- sentFrame) {
	defer close(out)
	rd := NewReader(bufio.NewReader(nc), DefaultMaxFrame)
	for {
		f, err := rd.ReadFrame()
		if err != nil {
			return
		}
		switch f.Kind {
		case KindStreamGap:
			g, _ := DecodeStreamGap(f.Body)
			out <- sentFrame{kind: f.Kind, dropped: g.Dropped}
		case KindStreamMedia:
			m, _ := DecodeStreamMedia(f.Body)
			out <- sentFrame{kind: f.Kind, key: media.Classify(m.Type, m.Payload).Keyframe}
		}
	}
}

func videoPacket(key bool, size int) *media.Packet {
	b := make([]byte, size)
	b[0], b[1] = 0x27, 1 // AVC inter frame, NALU
	if key {
		b[0] = 0x17
	}
	return media.NewPacket(9, 0, b)
}

// TestMediaSenderMarksGap: after the full queue dropped a message, the video up to the next
// keyframe is dropped too, the next message written is preceded by a stream-gap frame counting
// every drop, the receiver never gets a P-frame between the gap and the keyframe, and every
// packet is released exactly once (written, dropped, or skipped).
func TestMediaSenderMarksGap(t *testing.T) {
	t.Parallel()
	a, far := net.Pipe()
	t.Cleanup(func() { far.Close() })
	link := &Link{NetConn: a, Reader: bufio.NewReader(a), Version: ProtocolVersion, PeerID: "far",
		PeerMaxFrame: DefaultMaxFrame, LocalMaxFrame: DefaultMaxFrame}
	c := NewConn(link, Config{MaxMediaBytes: 8 << 10}, func(Frame) error { return nil })
	errc := serve(t, c)
	s := NewMediaSender(c, 7)
	var held []*media.Packet
	send := func(p *media.Packet) error {
		held = append(held, p.Retain())
		return s.Send(p)
	}
	sent := 0
	for i := 0; ; i++ { // the writer blocks on the pipe; the queue fills
		err := send(videoPacket(i == 0, 1000))
		if errors.Is(err, ErrQueueFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		sent++
	}
	if err := send(videoPacket(false, 10)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a P-frame after a drop was not skipped: %v", err)
	}
	frames := make(chan sentFrame, 1024)
	go readMedia(far, frames)
	for i := 0; i < sent; i++ {
		if f := <-frames; f.kind != KindStreamMedia {
			t.Fatalf("frame %d before the gap is %s", i, f.kind)
		}
	}
	if err := send(videoPacket(false, 10)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a P-frame before the keyframe was sent: %v", err)
	}
	for send(videoPacket(true, 100)) != nil { // the writer releases the written bytes just after the reader got them
		runtime.Gosched()
	}
	if err := send(videoPacket(false, 10)); err != nil {
		t.Fatal(err)
	}
	if f := <-frames; f.kind != KindStreamGap || uint64(f.dropped) != s.Drops() || f.dropped < 3 {
		t.Fatalf("after the drops: %+v, want a gap mark counting %d", f, s.Drops())
	}
	if f := <-frames; f.kind != KindStreamMedia || !f.key {
		t.Fatalf("after the gap mark: %+v, want the keyframe", f)
	}
	if f := <-frames; f.kind != KindStreamMedia || f.key {
		t.Fatalf("after the keyframe: %+v", f)
	}
	c.Close()
	<-errc
	checkReleased(t, held)
}
