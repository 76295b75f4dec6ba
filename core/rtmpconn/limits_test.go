package rtmpconn

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// acceptHandler accepts a connect the way a server does, and reports the rest like recvHandler.
type acceptHandler struct{ *recvHandler }

func (h acceptHandler) HandleCommand(c *Conn, id uint32, cmd *rtmpmsg.Command) error {
	if cmd.Name == "connect" {
		if err := c.SendConnectAccept(cmd.TxnID, StatusInfo("status", "NetConnection.Connect.Success", "ok")); err != nil {
			return err
		}
	}
	return h.recvHandler.HandleCommand(c, id, cmd)
}

// unadmittedPair serves one connection that has not been accepted yet (as a server's is after
// the handshake) and returns the client's socket, handshake done.
func unadmittedPair(t *testing.T, cfg Config, h Handler) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := New(sc, cfg, h, zerolog.Nop())
	done := make(chan struct{})
	go func() { _ = c.Serve(context.Background()); close(done) }()
	t.Cleanup(func() { cc.Close(); c.Close(nil); <-done })
	if err := ClientHandshake(cc); err != nil {
		t.Fatal(err)
	}
	return cc
}

func closedWith(t *testing.T, h *recvHandler, want error) {
	t.Helper()
	select {
	case err := <-h.closed:
		if !errors.Is(err, want) {
			t.Fatalf("closed with %v, want %v", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("not closed, want %v", want)
	}
}

// TestSilentAfterHandshakeClosed: a socket that shakes hands and then says nothing is closed at
// the connect deadline, not held for the idle timeout (120 s, and pinged before that).
func TestSilentAfterHandshakeClosed(t *testing.T) {
	t.Parallel()
	h := newRecvHandler()
	cc := unadmittedPair(t, Config{ConnectTimeout: 200 * time.Millisecond}, h)
	closedWith(t, h, ErrNoConnect)
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, cc); err != nil {
		t.Fatalf("client side: %v (want the server's close)", err)
	}
}

// TestPreConnectMessageLimit: before connect, a 2 MiB message is refused at its header; once
// connect was accepted, the same message is delivered.
func TestPreConnectMessageLimit(t *testing.T) {
	t.Parallel()
	w := wire{chunk.NewWriter()}
	big := w.message(chunk.Header{CSID: 6, TypeID: rtmpmsg.TypeVideo, StreamID: 1}, make([]byte, 2<<20))

	h := newRecvHandler()
	cc := unadmittedPair(t, Config{}, h)
	_, _ = cc.Write(big[:4096])
	closedWith(t, h, chunk.ErrMessageTooLarge)

	h = newRecvHandler()
	cc = unadmittedPair(t, Config{}, acceptHandler{h})
	if _, err := cc.Write(w.command(t, "connect")); err != nil {
		t.Fatal(err)
	}
	if got := <-h.cmds; got != "connect" {
		t.Fatalf("command %q", got)
	}
	go func() { _, _ = io.Copy(io.Discard, cc) }() // the connect answer
	if _, err := cc.Write(big); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-h.media:
		if n != 2<<20 {
			t.Fatalf("media of %d bytes", n)
		}
	case err := <-h.closed:
		t.Fatalf("closed after connect: %v", err)
	}
}

// TestPeerHugeChunkSizeServed: Set Chunk Size 2^31-1 (a sender that never splits a message) is
// accepted before connect, and the connect that follows in one chunk is handled.
func TestPeerHugeChunkSizeServed(t *testing.T) {
	t.Parallel()
	w := wire{chunk.NewWriter()}
	h := newRecvHandler()
	cc := unadmittedPair(t, Config{}, acceptHandler{h})
	setChunk := w.message(chunk.Header{CSID: 2, TypeID: rtmpmsg.TypeSetChunkSize}, rtmpmsg.AppendSetChunkSize(nil, 1<<31-1))
	w.w.SetChunkSize(1<<31 - 1)
	if _, err := cc.Write(append(setChunk, w.command(t, "connect")...)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-h.cmds:
		if got != "connect" {
			t.Fatalf("command %q", got)
		}
	case err := <-h.closed:
		t.Fatalf("closed: %v", err)
	}
}
