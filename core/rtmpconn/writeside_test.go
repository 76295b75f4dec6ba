package rtmpconn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// servePair is newPair with the parent context of Serve chosen by the test.
func servePair(t testing.TB, ctx context.Context, cfg Config) *pair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{client: client, closed: make(chan error, 1)}
	p.c = New(nc, cfg, nopHandler{closed: p.closed}, zerolog.Nop())
	p.c.admit() // a connected session: the full limits and the idle deadline
	go p.c.Serve(ctx)
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	if err := ClientHandshake(struct {
		io.Reader
		io.Writer
	}{br, client}); err != nil {
		t.Fatal(err)
	}
	p.rd = chunk.NewReader(br, chunk.DefaultLimits())
	t.Cleanup(func() { client.Close() })
	return p
}

// heldWriteState reports what the connection keeps for writing between writes.
func (p *pair) heldWriteState() (list, batch, scratch, wake bool) {
	p.c.ws.mu.Lock()
	defer p.c.ws.mu.Unlock()
	p.c.out.mu.Lock()
	defer p.c.out.mu.Unlock()
	return p.c.out.list != nil, p.c.ws.batch != nil, p.c.ws.sc != nil, p.c.out.wake.Load() != nil
}

// TestConnectAnswerNeedsNoWriter: the corked connect answer is written by the caller in one
// write, and afterwards the connection holds no queue list, no batch, no buffer lists and has
// never started a writer goroutine (no wake channel).
func TestConnectAnswerNeedsNoWriter(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{})
	before := p.writes()
	if err := p.c.SendConnectAccept(1, StatusInfo("status", "NetConnection.Connect.Success", "ok")); err != nil {
		t.Fatal(err)
	}
	if got := p.writes() - before; got != 1 {
		t.Fatalf("connect answer took %d writes, want 1", got)
	}
	want := []uint8{rtmpmsg.TypeWindowAckSize, rtmpmsg.TypeSetPeerBandwidth, rtmpmsg.TypeUserControl,
		rtmpmsg.TypeSetChunkSize, rtmpmsg.TypeCommandAMF0}
	for i, typ := range want {
		h, payload, err := p.rd.ReadMessage()
		if err != nil || h.TypeID != typ {
			t.Fatalf("message %d: type %d, %v; want type %d", i, h.TypeID, err, typ)
		}
		if typ == rtmpmsg.TypeSetChunkSize {
			n, _ := rtmpmsg.ParseSetChunkSize(payload)
			if err := p.rd.SetChunkSize(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	list, batch, scratch, wake := p.heldWriteState()
	if list || batch || scratch || wake {
		t.Fatalf("idle connection holds list=%v batch=%v scratch=%v wake=%v", list, batch, scratch, wake)
	}
}

// TestCorkedWritesOnce: as the origin answers connect — the app's loop queues the answer and
// onBWDone in one Corked section (nested sections included) — nothing is written inside, both
// leave in one write from that goroutine, and no writer goroutine is started.
func TestCorkedWritesOnce(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{})
	before := p.writes()
	done := make(chan uint64, 1)
	go func() { // the app's loop answering connect
		var inside uint64
		p.c.Corked(func() {
			_ = p.c.SendConnectAccept(1, StatusInfo("status", "NetConnection.Connect.Success", "ok"))
			p.c.Corked(func() { _ = p.c.SendCommand(0, "onBWDone", 0, nil) }) // nested: still held
			inside = p.writes() - before
		})
		done <- inside
	}()
	if inside := <-done; inside != 0 {
		t.Fatalf("%d writes inside the corked section", inside)
	}
	if got := p.writes() - before; got != 1 {
		t.Fatalf("answer and onBWDone took %d writes, want 1", got)
	}
	if _, _, _, wake := p.heldWriteState(); wake {
		t.Fatal("a writer goroutine was started")
	}
}

// TestSlowReaderGetsEverythingInOrder: what the socket cannot take at once is finished by the
// writer goroutine (waiting for writability), in order, and nothing stays held once written.
func TestSlowReaderGetsEverythingInOrder(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{})
	const count, size = 64, 64 << 10
	for i := range count {
		payload := bytes.Repeat([]byte{byte(i)}, size)
		if err := p.c.SendMessage(1, rtmpmsg.TypeDataAMF0, uint32(i), payload); err != nil {
			t.Fatal(err)
		}
	}
	for i := range count {
		h, payload, err := p.rd.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if h.Timestamp != uint32(i) || len(payload) != size || payload[0] != byte(i) || payload[size-1] != byte(i) {
			t.Fatalf("message %d: ts %d, %d bytes, first %d", i, h.Timestamp, len(payload), payload[0])
		}
	}
	// Every byte arrived, so whoever wrote the last ones has released what it held by the time
	// it lets go of the write side's lock (heldWriteState waits for it).
	list, batch, scratch, wake := p.heldWriteState()
	if list || batch || scratch {
		t.Fatalf("after the write: list=%v batch=%v scratch=%v", list, batch, scratch)
	}
	if !wake {
		t.Fatal("no writer goroutine ever ran: the socket took everything at once")
	}
}

// TestWriteTimeoutClosesStalledReader: a client that stops reading is cut off after
// WriteTimeout, with a reason that says so.
func TestWriteTimeoutClosesStalledReader(t *testing.T) {
	t.Parallel()
	p := servePair(t, context.Background(), Config{WriteTimeout: 100 * time.Millisecond})
	payload := make([]byte, 256<<10)
	for i := range 32 { // 8 MiB: far more than the socket buffers hold
		if err := p.c.SendMessage(1, rtmpmsg.TypeDataAMF0, uint32(i), payload); err != nil {
			break
		}
	}
	err := <-p.closed
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "write timeout") {
		t.Fatalf("closed with %v, want a write timeout", err)
	}
}

// TestParentContextClosesConnection: ending Serve's context closes the connection with its
// cause, and the connection's own context ends with the same cause.
func TestParentContextClosesConnection(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancelCause(context.Background())
	p := servePair(t, parent, Config{})
	stop := errors.New("server stopping")
	cancel(stop)
	if err := <-p.closed; !errors.Is(err, stop) {
		t.Fatalf("closed with %v, want %v", err, stop)
	}
	<-p.c.Context().Done()
	if err := context.Cause(p.c.Context()); !errors.Is(err, stop) {
		t.Fatalf("context cause %v, want %v", err, stop)
	}
	if _, err := p.client.Read(make([]byte, 1)); err == nil {
		t.Fatal("socket still open")
	}
}

// TestLogLinesCarryConnection: every line of a connection carries its id and peer address,
// through Log and the package's own logging alike, also after SetLogger adds fields, and the app
// and instance after SetLogApp; a disabled level builds nothing.
func TestLogLinesCarryConnection(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := New(a, Config{}, nopHandler{}, zerolog.New(&buf).Level(zerolog.InfoLevel))
	c.Log().Info().Msg("one")
	c.log.Warn().Msg("two")
	if c.log.Debug() != nil {
		t.Fatal("a disabled level made an event")
	}
	c.SetLogger(c.Log().With().Str("app", "live").Logger())
	c.log.Info().Msg("three")
	c.Log().Info().Msg("four")
	c.SetLogApp("live", "room")
	c.Log().Info().Msg("five")
	var lines []map[string]string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), buf.String())
	}
	for i, m := range lines {
		if m["conn"] != c.ID() || m["remote"] != a.RemoteAddr().String() {
			t.Errorf("line %d: conn %q remote %q, want %q %q", i, m["conn"], m["remote"], c.ID(), a.RemoteAddr())
		}
		if i >= 2 && m["app"] != "live" {
			t.Errorf("line %d lacks SetLogger's field: %v", i, m)
		}
		if want := map[bool]string{true: "room"}[i == 4]; m["instance"] != want {
			t.Errorf("line %d: instance %q, want %q (SetLogApp)", i, m["instance"], want)
		}
	}
}

// TestConnectionsShareTheirConfig: connections made with one configuration share its effective
// form; another configuration gets its own.
func TestConnectionsShareTheirConfig(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cfg := Config{ChunkSize: 1000}
	c1 := New(a, cfg, nopHandler{}, zerolog.Nop())
	c2 := New(b, cfg, nopHandler{}, zerolog.Nop())
	want := cfg.withDefaults()
	if c1.Config() != want || c2.Config() != want {
		t.Fatalf("config %+v / %+v, want %+v", c1.Config(), c2.Config(), want)
	}
	// Other tests make connections concurrently, so sharing is likely, not certain; the values
	// must be right either way.
	c3 := New(a, Config{ChunkSize: 2000}, nopHandler{}, zerolog.Nop())
	if c3.Config().ChunkSize != 2000 || c1.Config().ChunkSize != 1000 {
		t.Fatalf("chunk sizes %d, %d", c3.Config().ChunkSize, c1.Config().ChunkSize)
	}
}
