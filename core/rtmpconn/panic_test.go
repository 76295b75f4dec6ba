package rtmpconn

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// panicHandler panics on the command "boom" and in Closed when closedPanics is set.
type panicHandler struct {
	*recvHandler
	closedPanics bool
}

func (h panicHandler) HandleCommand(c *Conn, id uint32, cmd *rtmpmsg.Command) error {
	if cmd.Name == "boom" {
		var m map[string]int
		m["x"]++ // a real bug: assignment to a nil map
	}
	return h.recvHandler.HandleCommand(c, id, cmd)
}

func (h panicHandler) Closed(c *Conn, reason error) {
	h.recvHandler.Closed(c, reason)
	if h.closedPanics {
		panic("clean-up failed")
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// servedLogged serves one admitted connection with h, logging to logs; done is closed when Serve
// returned.
func servedLogged(t *testing.T, h Handler, logs *logBuffer) (cc net.Conn, done chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := New(sc, Config{}, h, zerolog.New(logs))
	c.admit()
	done = make(chan struct{})
	go func() { _ = c.Serve(context.Background()); close(done) }()
	t.Cleanup(func() { cc.Close(); c.Close(nil); <-done })
	if err := ClientHandshake(cc); err != nil {
		t.Fatal(err)
	}
	return cc, done
}

// TestHandlerPanicClosesOnlyThatConnection: a panic in one connection's handler closes that
// connection (reason ErrHandlerPanic, Closed still called, the stack logged at error level);
// another connection goes on. A panic in Closed itself is logged too and goes no further.
func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	w := wire{chunk.NewWriter()}
	bad := panicHandler{recvHandler: newRecvHandler(), closedPanics: true}
	good := panicHandler{recvHandler: newRecvHandler()}
	badConn, badDone := servedLogged(t, bad, logs)
	goodConn, _ := servedLogged(t, good, logs)

	if _, err := badConn.Write(w.command(t, "boom")); err != nil {
		t.Fatal(err)
	}
	closedWith(t, bad.recvHandler, ErrHandlerPanic)
	select {
	case <-badDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the panic")
	}
	for i := range 3 {
		if _, err := goodConn.Write(w.command(t, "ping")); err != nil {
			t.Fatal(err)
		}
		select {
		case name := <-good.cmds:
			if name != "ping" {
				t.Fatalf("command %q", name)
			}
		case err := <-good.closed:
			t.Fatalf("the other connection closed after %d commands: %v", i, err)
		}
	}
	out := logs.String()
	for _, want := range []string{`"level":"error"`, "assignment to entry in nil map", "panic_test.go", "clean-up failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if IsNormalClose(ErrHandlerPanic) {
		t.Error("a panic must not count as a normal close")
	}
}
