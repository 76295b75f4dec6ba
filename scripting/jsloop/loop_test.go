package jsloop

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

func TestPostFIFOFromManyGoroutines(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{QueueSize: 64})
	const producers, each = 8, 300
	seen := make([][]int, producers) // touched only on the loop
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				err := tl.PostWait(context.Background(), func(*goja.Runtime) error {
					seen[p] = append(seen[p], i)
					return nil
				})
				if err != nil {
					t.Errorf("post: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	tl.mustRun(t, func(*goja.Runtime) error {
		for p, got := range seen {
			if len(got) != each {
				t.Errorf("producer %d: %d jobs ran, want %d", p, len(got), each)
			}
			for i, v := range got {
				if v != i {
					t.Errorf("producer %d: job %d ran at position %d", p, v, i)
					break
				}
			}
		}
		return nil
	})
}

func TestQueueFullAndClosed(t *testing.T) {
	t.Parallel()
	l := New(Options{QueueSize: 2, Logger: zerolog.Nop()})
	nop := func(*goja.Runtime) error { return nil }
	for i := range 2 {
		if err := l.Post(nop); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if err := l.Post(nop); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third post: %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.PostWait(ctx, nop); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PostWait on a full queue: %v", err)
	}
	ran := make(chan struct{})
	waitErr := make(chan error, 1)
	go func() {
		waitErr <- l.PostWait(context.Background(), func(*goja.Runtime) error { close(ran); return nil })
	}()
	l.Start() // draining makes room for the waiter
	if err := <-waitErr; err != nil {
		t.Fatalf("PostWait after start: %v", err)
	}
	<-ran
	l.Close()
	if err := l.Post(nop); !errors.Is(err, ErrClosed) {
		t.Fatalf("post after close: %v", err)
	}
	if err := l.PostWait(context.Background(), nop); !errors.Is(err, ErrClosed) {
		t.Fatalf("PostWait after close: %v", err)
	}
	l.Close() // idempotent
}

func TestCloseBeforeStart(t *testing.T) {
	t.Parallel()
	l := New(Options{Logger: zerolog.Nop()})
	l.Close()
	<-l.Done()
	l.Start() // no-op
	if err := l.Post(func(*goja.Runtime) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("post: %v", err)
	}
}

func TestRunawayCodeIsInterrupted(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, src string }{
		{"while", "while(true){}"},
		{"try-catch", "for(;;){ try { while(true){} } catch (e) {} }"},
		{"try-finally", "try { while(true){} } finally { for(;;){} }"},
		{"timer", "setTimeout(function spin(){ while(true){} }, 0)"},
		{"interval", "var id = setInterval(function spin(){ for(;;){} }, 1)"},
		{"promise-then", "Promise.resolve().then(function(){ for(;;){} })"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tl := startLoop(t, Options{HandlerBudget: 100 * time.Millisecond})
			start := time.Now()
			prg := goja.MustCompile("apps/spin/main.js", tc.src, false)
			if err := tl.Post(func(rt *goja.Runtime) error { _, err := rt.RunProgram(prg); return err }); err != nil {
				t.Fatal(err)
			}
			err := tl.nextErr(t)
			elapsed := time.Since(start)
			t.Logf("%s: interrupted after %v", tc.name, elapsed)
			if !errors.Is(err, ErrHandlerTimeout) {
				t.Fatalf("error %v, want ErrHandlerTimeout", err)
			}
			if elapsed > 3*time.Second {
				t.Fatalf("interrupt took %v with a 100 ms budget", elapsed)
			}
			if s := FormatError(err); !strings.Contains(s, "apps/spin/main.js:1:") {
				t.Errorf("stack lacks file:line: %q", s)
			}
			if tc.name == "interval" { // FMS: the interval keeps running and is interrupted again
				if err := tl.nextErr(t); !errors.Is(err, ErrHandlerTimeout) {
					t.Fatalf("second run: %v", err)
				}
				tl.script(t, "stop.js", "clearInterval(id)")
			}
			tl.alive(t)
		})
	}
}

func TestStackOverflowIsAnError(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{MaxCallStackSize: 500})
	tl.script(t, "apps/rec/main.js", "function f(n){ return f(n+1)+1 }\nf(0)")
	err := tl.nextErr(t)
	if !errors.Is(err, ErrStackOverflow) {
		t.Fatalf("error %v, want ErrStackOverflow", err)
	}
	if s := FormatError(err); !strings.Contains(s, "apps/rec/main.js:1:") {
		t.Errorf("stack lacks frames: %q", s)
	}
	tl.alive(t)
}

func TestGoPanicIsContained(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.mustRun(t, func(*goja.Runtime) error { panic("direct") })
	if err := tl.nextErr(t); !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "direct") {
		t.Fatalf("direct panic: %v", err)
	}
	tl.mustRun(t, func(rt *goja.Runtime) error {
		return rt.Set("goBoom", func() { panic(errors.New("from go")) })
	})
	tl.script(t, "apps/p/main.js", "function g(){ goBoom() }\ng()")
	if err := tl.nextErr(t); !errors.Is(err, ErrPanic) {
		t.Fatalf("panic under JS: %v", err)
	}
	tl.logs.waitFor(t, "panic: from go", "jsloop") // the Go stack names this package
	tl.alive(t)
}

func TestExceptionLoggedWithStack(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{Name: "chat/room1"})
	tl.script(t, "apps/chat/main.js", "function a(){ throw new TypeError('bad thing') }\na()")
	err := tl.nextErr(t)
	var je *JSError
	if !errors.As(err, &je) || je.Exception == nil {
		t.Fatalf("error %T %v, want *JSError with exception", err, err)
	}
	if want := "chat/room1: TypeError: bad thing at a (apps/chat/main.js:1:"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
	}
	tl.logs.waitFor(t, `"app":"chat/room1"`, "bad thing", `at a (apps/chat/main.js:1:`)
}

func TestCloseInterruptsForeverJob(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{HandlerBudget: 100 * time.Millisecond})
	started := make(chan struct{})
	_ = tl.Post(func(rt *goja.Runtime) error {
		close(started)
		_, err := rt.RunString("for(;;){}")
		return err
	})
	<-started
	t0 := time.Now()
	tl.Close()
	t.Logf("Close returned after %v", time.Since(t0))
	if err := tl.nextErr(t); !errors.Is(err, ErrHandlerTimeout) {
		t.Fatalf("job error %v", err)
	}
	select {
	case <-tl.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
}

func TestStopFromInsideAJob(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.mustRun(t, func(*goja.Runtime) error { tl.Stop(); return nil })
	<-tl.Done()
}

func TestSwapAndDropRuntime(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "old.js", "setTimeout(function(){ done('old timer') }, 30)")
	var next *goja.Runtime
	tl.mustRun(t, func(old *goja.Runtime) error {
		next = tl.NewRuntime()
		if err := tl.installDone(next); err != nil {
			return err
		}
		if _, err := next.RunString("var gen = 2; setTimeout(function(){ done('new timer', gen) }, 1)"); err != nil {
			return err
		}
		tl.SwapRuntime(next)
		tl.DropRuntime(old)
		return nil
	})
	if ev := tl.nextEvent(t); ev[0] != "new timer" || ev[1] != int64(2) {
		t.Fatalf("event %v", ev)
	}
	tl.mustRun(t, func(rt *goja.Runtime) error {
		if rt != next || tl.Runtime() != next {
			t.Error("jobs do not get the swapped runtime")
		}
		return nil
	})
	tl.script(t, "wait.js", "setTimeout(function(){ done('later') }, 60)")
	if ev := tl.nextEvent(t); ev[0] != "later" {
		t.Fatalf("the dropped runtime's timer fired: %v", ev)
	}
}

func TestUnhandledRejectionLogged(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "apps/pr/main.js", `
var handled = Promise.reject(new Error("handled later")); handled.catch(function(){});
async function f(){ throw new Error("nobody catches this") }
f();`)
	tl.logs.waitFor(t, "Uncaught (in promise)", "nobody catches this", "apps/pr/main.js:3:")
	tl.alive(t)
	if strings.Contains(tl.logs.String(), "handled later") {
		t.Errorf("a rejection handled in the same job was logged:\n%s", tl.logs.String())
	}
}

func TestPromiseSettledFromAnotherGoroutine(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.mustRun(t, func(rt *goja.Runtime) error {
		return rt.Set("later", func(v int64, fail bool) *goja.Promise {
			p, resolve, reject := tl.NewPromise(rt)
			go func() {
				if fail {
					reject(errors.New("go says no"))
					reject("ignored second call")
					return
				}
				resolve(v * 2)
				resolve(0) // ignored
			}()
			return p
		})
	})
	tl.script(t, "p.js", `later(21, false).then(function(v){ done('ok', v) });
later(0, true).catch(function(e){ done('err', e.message) });`)
	got := map[any]any{}
	for range 2 {
		ev := tl.nextEvent(t)
		got[ev[0]] = ev[1]
	}
	if got["ok"] != int64(42) || got["err"] != "go says no" {
		t.Fatalf("settlements %v", got)
	}
}

func TestFormatErrorPlain(t *testing.T) {
	t.Parallel()
	if FormatError(nil) != "" || FormatError(errors.New("x")) != "x" {
		t.Fatal("FormatError of non-JS errors")
	}
}

func BenchmarkPostRoundTrip(b *testing.B) {
	l := New(Options{Logger: zerolog.Nop()})
	l.Start()
	defer l.Close()
	done := make(chan struct{}, 1)
	job := func(*goja.Runtime) error { done <- struct{}{}; return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Post(job)
		<-done
	}
}

func BenchmarkPostRoundTripMemoryWatched(b *testing.B) {
	l := New(Options{Logger: zerolog.Nop(), MemoryLimitBytes: 1 << 30})
	l.Start()
	defer l.Close()
	done := make(chan struct{}, 1)
	job := func(*goja.Runtime) error { done <- struct{}{}; return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Post(job)
		<-done
	}
}

// BenchmarkPostRoundTripContained is a round trip with the bounds an app instance gets by
// default: the per-callback memory watch, the retained-heap accounting and the CPU share.
func BenchmarkPostRoundTripContained(b *testing.B) {
	l := New(Options{Logger: zerolog.Nop(), MemoryLimitBytes: 256 << 20, RetainedLimitBytes: 256 << 20,
		CPUShare: 0.5, CPUWindow: 10 * time.Second})
	l.Start()
	defer l.Close()
	done := make(chan struct{}, 1)
	job := func(*goja.Runtime) error { done <- struct{}{}; return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Post(job)
		<-done
	}
}
