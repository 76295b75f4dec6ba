package trunk

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// lockedBuffer is a log sink written from several goroutines.
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

// TestMuxPanicClosesOnlyThatSession (issue 9 item 10): a session handler that panics ends that
// session (OnClose with CodeInternal, the peer told, the stack logged) while another session of
// the same trunk goes on receiving, and the process does not die.
func TestMuxPanicClosesOnlyThatSession(t *testing.T) {
	t.Parallel()
	el, _ := linkPair(t)
	logs := &lockedBuffer{}
	c := NewConn(el, Config{SessionWindow: 1 << 20, Log: zerolog.New(logs)}, nil)
	m := NewMux(c)
	bad := newRecorder(t)
	badFuncs := bad.funcs()
	onFrame := badFuncs.OnFrame
	badFuncs.OnFrame = func(f Frame) {
		onFrame(f)
		if m, _ := DecodeSessionMessage(f.Body); m.Timestamp == 1 {
			panic("handler bug")
		}
	}
	good := newRecorder(t)
	if err := m.Open(1, badFuncs); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(2, good.funcs()); err != nil {
		t.Fatal(err)
	}
	for ts := range uint32(3) {
		m.Dispatch(messageFrame(1, ts))
		m.Dispatch(messageFrame(2, ts))
	}
	if got := <-bad.closed; got.Code != CodeInternal {
		t.Fatalf("panicking session closed with %+v", got)
	}
	if m.Dispatch(messageFrame(1, 9)) {
		t.Fatal("the panicked session still takes frames")
	}
	m.Dispatch(messageFrame(2, 3))
	m.Dispatch(closeFrame(2, CodeNormal))
	if got := <-good.closed; got.Code != CodeNormal {
		t.Fatalf("other session: %+v", got)
	}
	good.mu.Lock()
	n := len(good.got)
	good.mu.Unlock()
	if n != 4 {
		t.Fatalf("other session got %d of 4 frames", n)
	}
	if l := logs.String(); !strings.Contains(l, "session handler panicked") || !strings.Contains(l, "mux_panic_test.go") {
		t.Fatalf("no stack logged:\n%s", l)
	}
}
