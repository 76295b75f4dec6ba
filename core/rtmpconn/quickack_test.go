package rtmpconn

import (
	"io"
	"net"
	"testing"
)

// TestQuickAckReaderFirstReads: a TCP connection's reads go through the quick-ACK reader for its
// first quickAckReads reads that return data once the handshake wrote its answer (reads before
// it are not acknowledged by hand), then straight to the socket; a connection that is not TCP
// reads directly. (What the ACKs save is timing only: `make bench`, first frame.)
func TestQuickAckReaderFirstReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c := &Conn{nc: server}
	// Before the handshake's answer the kernel acknowledges by itself: reads are not counted.
	for i := 0; i < 3; i++ {
		if _, err := client.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := io.ReadFull(c.readSource(), b[:]); err != nil || b[0] != byte(i) {
			t.Fatalf("unarmed read %d: %v %d", i, err, b[0])
		}
	}
	if c.qa.left != quickAckReads {
		t.Fatalf("%d quick ACKs left after reads before the first write, want %d", c.qa.left, quickAckReads)
	}
	if _, err := (armingWriter{c}).Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < quickAckReads; i++ {
		src := c.readSource()
		if src != io.Reader(c.qa) {
			t.Fatalf("read %d: source %T, want the quick-ACK reader", i, src)
		}
		if _, err := client.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := io.ReadFull(src, b[:]); err != nil || b[0] != byte(i) {
			t.Fatalf("read %d: %v %d", i, err, b[0])
		}
	}
	if src := c.readSource(); src != io.Reader(c.qa) {
		t.Fatalf("after %d reads, an ACK owed: source %T, want the quick-ACK reader", quickAckReads, src)
	}
	c.ackBeforeWait()
	if src := c.readSource(); src != io.Reader(server) {
		t.Fatalf("after %d reads: source %T, want the connection", quickAckReads, src)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if src := (&Conn{nc: p1}).readSource(); src != io.Reader(p1) {
		t.Fatalf("pipe: source %T, want the connection itself", src)
	}
}

// TestQuickAckOwedUntilWrite: a read's ACK is forced when the reader needs the socket again (its
// next read, or the read loop's wait) unless a write started since, which carried it: the
// connect answer written before the read loop waits again costs no forced ACK.
func TestQuickAckOwedUntilWrite(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c := &Conn{nc: server}
	src := c.readSource()
	if _, err := (armingWriter{c}).Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	read := func(what string, wantForced int) {
		t.Helper()
		if _, err := client.Write([]byte{7}); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := io.ReadFull(src, b[:]); err != nil {
			t.Fatal(err)
		}
		if c.qa.forced != wantForced {
			t.Fatalf("%s: %d ACKs forced, want %d", what, c.qa.forced, wantForced)
		}
	}
	read("first read", 0)
	read("a read after a read and no write", 1)
	c.Stats.Writes.Add(1) // a write starts: it carries the ACK
	read("a read after a write", 1)
	c.ackBeforeWait()
	if c.qa.forced != 2 {
		t.Fatalf("the wait after an unanswered read: %d ACKs forced, want 2", c.qa.forced)
	}
	c.ackBeforeWait()
	if c.qa.forced != 2 {
		t.Fatalf("nothing read since: %d ACKs forced, want 2", c.qa.forced)
	}
}
