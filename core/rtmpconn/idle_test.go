package rtmpconn

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// recvHandler passes what the read loop delivers to the test.
type recvHandler struct {
	cmds   chan string
	media  chan int
	closed chan error
}

func newRecvHandler() *recvHandler {
	return &recvHandler{cmds: make(chan string, 16), media: make(chan int, 4096), closed: make(chan error, 1)}
}

func (h *recvHandler) HandleCommand(_ *Conn, _ uint32, cmd *rtmpmsg.Command) error {
	h.cmds <- cmd.Name
	return nil
}
func (h *recvHandler) HandleData(*Conn, uint32, uint32, *rtmpmsg.Data) error { return nil }
func (h *recvHandler) HandleMedia(_ *Conn, _ uint32, _ uint8, _ uint32, p []byte) error {
	h.media <- len(p)
	return nil
}
func (h *recvHandler) HandleSharedObject(*Conn, *rtmpmsg.SharedObjectMessage, bool) error {
	return nil
}
func (h *recvHandler) Closed(_ *Conn, reason error) { h.closed <- reason }

// servedPair serves one server Conn over loopback TCP and returns it with the client's socket,
// handshake done.
func servedPair(t testing.TB, h Handler) (*Conn, net.Conn) {
	t.Helper()
	return servedPairWith(t, h, Config{})
}

// servedPairWith is servedPair with the connection made with cfg.
func servedPairWith(t testing.TB, h Handler, cfg Config) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	c := New(sc, cfg, h, zerolog.Nop())
	c.admit() // a connected session: the full limits and the idle deadline
	done := make(chan struct{})
	go func() { _ = c.Serve(context.Background()); close(done) }()
	t.Cleanup(func() { cc.Close(); c.Close(nil); <-done })
	if err := ClientHandshake(cc); err != nil {
		t.Fatal(err)
	}
	return c, cc
}

// wire is the client's chunk writer: messages as bytes.
type wire struct{ w *chunk.Writer }

func (w wire) message(h chunk.Header, payload []byte) []byte {
	h.Length = uint32(len(payload))
	var out bytes.Buffer
	bufs := w.w.Append(nil, h, payload)
	_, _ = bufs.WriteTo(&out)
	w.w.Reset()
	return out.Bytes()
}

func (w wire) command(t *testing.T, name string) []byte {
	var enc amf.Encoder
	p, err := rtmpmsg.AppendCommand(nil, &enc, false, name, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w.message(chunk.Header{CSID: 3, TypeID: rtmpmsg.TypeCommandAMF0}, p)
}

// awaitIdleWaits waits until the read loop has parked without its buffer at least n times (the
// park itself sends no event, so this polls with a deadline).
func awaitIdleWaits(t *testing.T, c *Conn, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); c.idleWaits.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("read loop parked %d times, want %d", c.idleWaits.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func expectCommand(t *testing.T, h *recvHandler, want string) {
	t.Helper()
	select {
	case got := <-h.cmds:
		if got != want {
			t.Fatalf("command %q, want %q", got, want)
		}
	case err := <-h.closed:
		t.Fatalf("closed before %q: %v", want, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q", want)
	}
}

// TestIdleReadReleasesBufferAndResumes: a quiet connection parks without its read buffer; a
// message that then arrives in pieces (the first piece waking the loop, the rest following a
// pause) and a chunk stream left half-way across a park still decode.
func TestIdleReadReleasesBufferAndResumes(t *testing.T) {
	t.Parallel()
	h := newRecvHandler()
	c, cc := servedPair(t, h)
	w := wire{chunk.NewWriter()}
	awaitIdleWaits(t, c, 1) // parked right after the handshake: the client has said nothing yet
	if _, err := cc.Write(w.command(t, "first")); err != nil {
		t.Fatal(err)
	}
	expectCommand(t, h, "first")
	awaitIdleWaits(t, c, 2)
	second := w.command(t, "second")
	for i, piece := range [][]byte{second[:1], second[1:9], second[9:]} {
		if _, err := cc.Write(piece); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			time.Sleep(5 * time.Millisecond) // let the loop wake and read the piece alone
		}
	}
	expectCommand(t, h, "second")
	// A 200-byte video message (two chunks) whose first chunk arrives, then a whole command on
	// another chunk stream, a park, and the video's last chunk.
	video := w.message(chunk.Header{CSID: 6, TypeID: rtmpmsg.TypeVideo, StreamID: 1}, make([]byte, 200))
	third := w.command(t, "third")
	awaitIdleWaits(t, c, 3)
	parks := c.idleWaits.Load()
	if _, err := cc.Write(append(append([]byte(nil), video[:12+128]...), third...)); err != nil {
		t.Fatal(err)
	}
	expectCommand(t, h, "third")
	awaitIdleWaits(t, c, parks+1)
	if _, err := cc.Write(video[12+128:]); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-h.media:
		if n != 200 {
			t.Fatalf("video of %d bytes, want 200", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("video message lost across the park")
	}
}

// TestIdleReadDeadline: a parked read loop still ends at the idle timeout.
func TestIdleReadDeadline(t *testing.T) {
	t.Parallel()
	h := newRecvHandler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a client that shakes hands and then says nothing
		if cc, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			_ = ClientHandshake(cc)
			<-stop
			cc.Close()
		}
	}()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := New(sc, Config{IdleTimeout: 100 * time.Millisecond}, h, zerolog.Nop())
	c.admit()
	err = c.Serve(context.Background())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("idle timeout")) {
		t.Fatalf("Serve: %v, want an idle timeout", err)
	}
	if c.idleWaits.Load() == 0 {
		t.Fatal("the read loop never parked without its buffer")
	}
}

// TestStreamingPublisherStaysOnTheFastPath: a connection streaming media reads the ordinary way
// once it is busy; only its first few messages may take the idle path. Each frame is written
// only after the previous one was handled, so the socket is empty at every read: a loop taking
// the idle path would park (and count) once per frame.
func TestStreamingPublisherStaysOnTheFastPath(t *testing.T) {
	t.Parallel()
	h := newRecvHandler()
	c, cc := servedPair(t, h)
	w := wire{chunk.NewWriter()}
	const frames = 500
	payload := make([]byte, 100)
	for i := range frames {
		m := w.message(chunk.Header{CSID: 6, Timestamp: uint32(i), TypeID: rtmpmsg.TypeAudio, StreamID: 1}, payload)
		if _, err := cc.Write(m); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.media:
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d missing", i)
		}
	}
	if n := c.idleWaits.Load(); n > uint64(c.rt.busyMessages)+1 {
		t.Fatalf("a streaming connection parked %d times without its buffer", n)
	}
}
