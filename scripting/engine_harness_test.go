package scripting

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/amf"
)

const waitLimit = 10 * time.Second

// event is one thing the engine did to a fake session.
type event struct {
	kind   string // accept, reject, reply, error, call, close
	txn    float64
	value  any
	info   *amf.Object
	method string
	args   []any
	answer func(any, *amf.Object)
	code   string
}

// fakeSession records what the engine sends to a connection.
type fakeSession struct {
	id     string
	info   ClientInfo
	events chan event
}

var sessionSeq atomic.Int64

func newFake(args ...any) *fakeSession {
	n := sessionSeq.Add(1)
	return &fakeSession{
		id:     fmt.Sprintf("s%d", n),
		info:   ClientInfo{IP: "127.0.0.1", Agent: "FMLE/3.0", Protocol: "rtmp", URI: "rtmp://localhost/app", ConnectArgs: args},
		events: make(chan event, 256),
	}
}

func (f *fakeSession) ID() string               { return f.id }
func (f *fakeSession) Info() ClientInfo         { return f.info }
func (f *fakeSession) Accept(bool)              { f.events <- event{kind: "accept"} }
func (f *fakeSession) Reject(info *amf.Object)  { f.events <- event{kind: "reject", info: info} }
func (f *fakeSession) Reply(txn float64, v any) { f.events <- event{kind: "reply", txn: txn, value: v} }
func (f *fakeSession) ReplyError(txn float64, i *amf.Object) {
	f.events <- event{kind: "error", txn: txn, info: i}
}
func (f *fakeSession) Close(code, desc string) { f.events <- event{kind: "close", code: code} }
func (f *fakeSession) Stats() ClientStats {
	return ClientStats{BytesIn: 10, BytesOut: 20, MsgIn: 1, MsgOut: 2}
}
func (f *fakeSession) Call(m string, args []any, answer func(any, *amf.Object)) {
	f.events <- event{kind: "call", method: m, args: args, answer: answer}
}

// next returns the next event, failing the test after waitLimit.
func (f *fakeSession) next(t *testing.T) event {
	t.Helper()
	select {
	case ev := <-f.events:
		return ev
	case <-time.After(waitLimit):
		t.Fatalf("session %s: no event", f.id)
		return event{}
	}
}

// expect returns the next event and checks its kind.
func (f *fakeSession) expect(t *testing.T, kind string) event {
	t.Helper()
	ev := f.next(t)
	if ev.kind != kind {
		var info any
		if ev.info != nil {
			info = ev.info.Props
		}
		t.Fatalf("session %s: got %s (%+v, info %v), want %s", f.id, ev.kind, ev, info, kind)
	}
	return ev
}

// syncLog is a log sink tests can search.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// harness is an engine over a temporary apps folder, running until the test ends.
type harness struct {
	t       *testing.T
	e       *Engine
	apps    string
	lib     string
	log     *syncLog
	reloads chan error
	txn     float64
}

func newHarness(t *testing.T, files map[string]string, opts ...func(*EngineConfig)) *harness {
	t.Helper()
	root := t.TempDir()
	h := &harness{t: t, apps: filepath.Join(root, "apps"), lib: filepath.Join(root, "lib"), log: &syncLog{},
		reloads: make(chan error, 64)}
	for _, d := range []string{h.apps, h.lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		h.write(name, content)
	}
	cfg := EngineConfig{AppsDir: h.apps, ScriptLibDir: h.lib, DataDir: filepath.Join(root, "data")}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := NewEngine(cfg, zerolog.New(h.log))
	if err != nil {
		t.Fatal(err)
	}
	e.afterReload = func(_ string, err error) { h.reloads <- err }
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// write creates or replaces a file below the apps folder ("lib/..." goes to the script library).
func (h *harness) write(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.apps, filepath.FromSlash(name))
	if rest, ok := strings.CutPrefix(name, "lib/"); ok {
		p = filepath.Join(h.lib, rest)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// connect connects a new fake session to app/inst with extra connect arguments.
func (h *harness) connect(app, inst string, args ...any) (*fakeSession, *Client) {
	h.t.Helper()
	f := newFake(args...)
	c, err := h.e.Connect(app, inst, f)
	if err != nil {
		h.t.Fatalf("connect %s/%s: %v", app, inst, err)
	}
	return f, c
}

// accepted connects and expects the connection to be accepted.
func (h *harness) accepted(app string, args ...any) (*fakeSession, *Client) {
	h.t.Helper()
	f, c := h.connect(app, "", args...)
	f.expect(h.t, "accept")
	return f, c
}

// call makes an RPC and returns the answer event (reply or error).
func (h *harness) call(f *fakeSession, c *Client, name string, args ...any) event {
	h.t.Helper()
	h.txn++
	c.Call(name, h.txn, args)
	for {
		ev := f.next(h.t)
		if ev.kind == "reply" || ev.kind == "error" {
			if ev.txn != h.txn {
				h.t.Fatalf("answer to txn %v, want %v", ev.txn, h.txn)
			}
			return ev
		}
	}
}

// result makes an RPC that must succeed and returns its value.
func (h *harness) result(f *fakeSession, c *Client, name string, args ...any) any {
	h.t.Helper()
	ev := h.call(f, c, name, args...)
	if ev.kind != "reply" {
		h.t.Fatalf("%s: got _error %v; log:\n%s", name, ev.info, h.log.String())
	}
	return ev.value
}

// awaitReload waits for the next reload attempt and returns its error.
func (h *harness) awaitReload() error {
	h.t.Helper()
	select {
	case err := <-h.reloads:
		return err
	case <-time.After(waitLimit):
		h.t.Fatalf("no reload; log:\n%s", h.log.String())
		return nil
	}
}

// awaitLog waits until the log contains s (polling: the log has no event to await).
func (h *harness) awaitLog(s string) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(h.log.String(), s) {
		if time.Now().After(deadline) {
			h.t.Fatalf("log never contained %q:\n%s", s, h.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
