package netserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// limitedServer serves lim on 127.0.0.1:0; each accepted connection is reported on accepted and
// held open until the test ends.
type limitedServer struct {
	s        *Server
	addr     string
	accepted chan net.Addr
	logs     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startLimited(t *testing.T, lim Limits) *limitedServer {
	t.Helper()
	return startLimitedWith(t, lim, nil)
}

// startLimitedWith is startLimited with a Refuser (nil: none).
func startLimitedWith(t *testing.T, lim Limits, r Refuser) *limitedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &limitedServer{addr: ln.Addr().String(), accepted: make(chan net.Addr, 64), logs: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	ls.s = NewLimited(ln, lim, func(_ context.Context, c net.Conn) {
		ls.accepted <- c.RemoteAddr()
		_, _ = io.Copy(io.Discard, c) // until the client or CloseAll closes it
	}, zerolog.New(ls.logs))
	if r != nil {
		ls.s.SetRefuser(r)
	}
	go ls.s.Serve(ctx)
	t.Cleanup(func() { cancel(); ls.s.StopAccepting(); ls.s.CloseAll(); ls.s.Wait() })
	_ = ctx
	return ls
}

// dialFrom connects from the local IP from (any address of 127/8 is loopback).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustServe dials from and waits until the server hands the connection to its handler.
func (ls *limitedServer) mustServe(t *testing.T, from string) net.Conn {
	t.Helper()
	c := dialFrom(t, from, ls.addr)
	select {
	case a := <-ls.accepted:
		if a.String() != c.LocalAddr().String() {
			t.Fatalf("served %v, dialled from %v", a, c.LocalAddr())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("connection from %s not served", from)
	}
	return c
}

// mustRefuse dials from and expects the connection to be closed before any byte.
func (ls *limitedServer) mustRefuse(t *testing.T, from string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ls.addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return // reset before connect returned
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection from %s: read %d, %v; want it closed", from, n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection from %s still open", from)
	}
	select {
	case a := <-ls.accepted:
		t.Fatalf("refused connection %v reached the handler", a)
	default:
	}
}

// TestPerAddressCap: the third connection from 127.0.0.1 is refused while 127.0.0.2 still
// connects, and a slot freed by a close is usable again.
func TestPerAddressCap(t *testing.T) {
	t.Parallel()
	ls := startLimited(t, Limits{MaxConns: 100, MaxPerAddress: 2})
	first := ls.mustServe(t, "127.0.0.1")
	ls.mustServe(t, "127.0.0.1")
	ls.mustRefuse(t, "127.0.0.1")
	ls.mustServe(t, "127.0.0.2")
	if r := ls.s.Refused(); r != (Refusals{PerAddress: 1}) {
		t.Fatalf("refusals %+v", r)
	}
	first.Close() // its handler ends and the slot is released (no hook: poll the count)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(5 * time.Second); ls.s.Count() != 2; <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections served after one closed, want 2", ls.s.Count())
		}
	}
	ls.mustServe(t, "127.0.0.1")
}

// TestAcceptRateLimit: past its burst an address is refused for opening connections too fast,
// others are not.
func TestAcceptRateLimit(t *testing.T) {
	t.Parallel()
	ls := startLimited(t, Limits{MaxConns: 100, AcceptRate: 0.001, AcceptBurst: 3})
	for range 3 {
		ls.mustServe(t, "127.0.0.1")
	}
	ls.mustRefuse(t, "127.0.0.1")
	ls.mustServe(t, "127.0.0.3")
	if r := ls.s.Refused(); r != (Refusals{Rate: 1}) {
		t.Fatalf("refusals %+v", r)
	}
}

// TestGlobalCap: past MaxConns every address is refused.
func TestGlobalCap(t *testing.T) {
	t.Parallel()
	ls := startLimited(t, Limits{MaxConns: 2})
	ls.mustServe(t, "127.0.0.1")
	ls.mustServe(t, "127.0.0.2")
	ls.mustRefuse(t, "127.0.0.3")
	ls.mustRefuse(t, "127.0.0.1")
	if r := ls.s.Refused(); r != (Refusals{Global: 2}) {
		t.Fatalf("refusals %+v", r)
	}
}

// TestRefusalsLoggedAsCounts: a burst of refusals gives one log line, not one per refusal.
func TestRefusalsLoggedAsCounts(t *testing.T) {
	t.Parallel()
	ls := startLimited(t, Limits{MaxConns: 100, MaxPerAddress: 1})
	ls.mustServe(t, "127.0.0.1")
	for range 20 {
		ls.mustRefuse(t, "127.0.0.1")
	}
	if n := strings.Count(ls.logs.String(), "connections refused at accept"); n != 1 {
		t.Fatalf("%d log lines for 20 refusals:\n%s", n, ls.logs.String())
	}
}

// TestAddressTableBounded: a flood of connections from ever new addresses, each closed again,
// leaves the per-address table bounded.
func TestAddressTableBounded(t *testing.T) {
	t.Parallel()
	s := NewLimited(nil, Limits{MaxConns: 1000, MaxPerAddress: 10, AcceptRate: 1, AcceptBurst: 5}, nil, zerolog.Nop())
	now := time.Now()
	bound := max(minTracked, 2*s.lim.MaxConns)
	for i := range 200_000 {
		key := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if reason := s.admit(key, now); reason != "" {
			t.Fatalf("address %d refused: %s", i, reason)
		}
		s.release(key)
		if len(s.addrs) > bound {
			t.Fatalf("%d addresses remembered after %d, bound %d", len(s.addrs), i+1, bound)
		}
	}
	// an address with a connection open is never forgotten
	held := netip.MustParseAddr("192.0.2.1")
	s.admit(held, now)
	for i := range 3 * bound {
		key := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		s.admit(key, now)
		s.release(key)
	}
	if st := s.addrs[held]; st == nil || st.open != 1 {
		t.Fatalf("an address with an open connection was forgotten: %+v", st)
	}
}

// TestAddrKeyIPv6Prefix: IPv6 peers of one /64 share a key; IPv4 peers are keyed by address.
func TestAddrKeyIPv6Prefix(t *testing.T) {
	t.Parallel()
	a := addrKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1")})
	b := addrKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9")})
	c := addrKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")})
	if a != b || a == c {
		t.Fatalf("keys %v %v %v", a, b, c)
	}
	if k := addrKey(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")}); k != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("key %v", k)
	}
}

// TestHandlerPanicRecovered: a panic that escapes a connection's handler is logged with its
// stack and closes only that connection; the listener serves the next one.
func TestHandlerPanicRecovered(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	served := make(chan struct{}, 2)
	s := New(ln, 0, func(_ context.Context, c net.Conn) {
		var b [1]byte
		if _, err := c.Read(b[:]); err == nil && b[0] == '!' {
			panic("handler bug")
		}
		served <- struct{}{}
	}, zerolog.New(logs))
	go s.Serve(context.Background())
	t.Cleanup(func() { s.StopAccepting(); s.CloseAll(); s.Wait() })
	bad := dialFrom(t, "127.0.0.1", ln.Addr().String())
	_, _ = bad.Write([]byte("!"))
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("the panicking connection was not closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the panicking connection is still open")
	}
	good := dialFrom(t, "127.0.0.1", ln.Addr().String())
	_, _ = good.Write([]byte("."))
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the next connection was not served")
	}
	if out := logs.String(); !strings.Contains(out, `"level":"error"`) || !strings.Contains(out, "handler bug") || !strings.Contains(out, "goroutine") {
		t.Fatalf("logs: %s", out)
	}
}
