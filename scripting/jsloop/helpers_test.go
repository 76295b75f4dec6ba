package jsloop

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

// logSink collects log output and lets a test await a line instead of sleeping.
type logSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func newLogSink() *logSink { return &logSink{notify: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor blocks until every part appears in the log, or fails the test after 10 s.
func (s *logSink) waitFor(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		out := s.String()
		if containsAll(out, parts) {
			return out
		}
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("log never contained %q; log:\n%s", parts, out)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// testLoop starts a loop whose log goes to a sink and whose job errors go to a channel.
type testLoop struct {
	*Loop
	logs   *logSink
	errs   chan error
	events chan []any // values passed to the JS global done(...)
}

func startLoop(t *testing.T, opts Options) *testLoop {
	t.Helper()
	tl := &testLoop{logs: newLogSink(), errs: make(chan error, 64), events: make(chan []any, 64)}
	opts.Logger = zerolog.New(tl.logs)
	if opts.Name == "" {
		opts.Name = "test/_definst_"
	}
	opts.OnError = func(err error) {
		select {
		case tl.errs <- err:
		default:
		}
	}
	tl.Loop = New(opts)
	tl.Start()
	t.Cleanup(tl.Close)
	tl.mustRun(t, tl.installDone)
	return tl
}

// installDone defines done(...) on rt, which hands its arguments to the test.
func (tl *testLoop) installDone(rt *goja.Runtime) error {
	return rt.Set("done", func(call goja.FunctionCall) goja.Value {
		vals := make([]any, len(call.Arguments))
		for i, a := range call.Arguments {
			vals[i] = a.Export()
		}
		tl.events <- vals
		return goja.Undefined()
	})
}

// mustRun posts a job and waits until it ran.
func (tl *testLoop) mustRun(t *testing.T, job Job) {
	t.Helper()
	ran := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// PostWait: a test that just filled the queue must wait for room, not fail on a busy machine.
	if err := tl.PostWait(ctx, func(rt *goja.Runtime) error { defer close(ran); return job(rt) }); err != nil {
		t.Fatalf("post: %v", err)
	}
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("job did not run")
	}
}

// script posts JS source compiled as file name.
func (tl *testLoop) script(t *testing.T, name, src string) {
	t.Helper()
	prg := goja.MustCompile(name, src, false)
	tl.mustRun(t, func(rt *goja.Runtime) error { _, err := rt.RunProgram(prg); return err })
}

func (tl *testLoop) nextEvent(t *testing.T) []any {
	t.Helper()
	select {
	case ev := <-tl.events:
		return ev
	case <-time.After(60 * time.Second):
		t.Fatalf("no done() call; log:\n%s", tl.logs.String())
		return nil
	}
}

func (tl *testLoop) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-tl.errs:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("no job error; log:\n%s", tl.logs.String())
		return nil
	}
}

// alive checks that the loop still runs JS after whatever the test did to it.
func (tl *testLoop) alive(t *testing.T) {
	t.Helper()
	tl.script(t, "alive.js", "done('alive', 1+1)")
	if ev := tl.nextEvent(t); ev[0] != "alive" || ev[1] != int64(2) {
		t.Fatalf("loop not alive: %v", ev)
	}
}
