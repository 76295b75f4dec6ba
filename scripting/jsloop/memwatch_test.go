package jsloop

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: metricLive}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

const chunkJS = "var chunk = 'x'; while (chunk.length < 65536) chunk += chunk;\n"

// Not parallel: it measures the process heap, so it runs while no other test allocates.
func TestMemoryLimitUnloadsInstance(t *testing.T) {
	cases := []struct{ name, src string }{
		{"push", "var a = []; for (var i = 0; ; i++) { a.push(chunk + i) }"},
		{"concat", "var s = '', keep = []; for (;;) { s += chunk; if (s.length > 1e6) { keep.push(s); s = '' } }"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := liveHeap()
			fatal := make(chan error, 1)
			logs := newLogSink()
			l := New(Options{
				Name: "mem/_definst_", Logger: zerolog.New(logs), HandlerBudget: 60 * time.Second,
				MemoryLimitBytes: 64 << 20, OnFatal: func(err error) { fatal <- err },
			})
			l.Start()
			start := time.Now()
			// goja's repeat is slow (one write per copy), so the 64 KiB chunk is built by doubling.
			prg := goja.MustCompile("apps/mem/main.js", chunkJS+tc.src, false)
			if err := l.Post(func(rt *goja.Runtime) error { _, err := rt.RunProgram(prg); return err }); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-fatal:
			case <-time.After(60 * time.Second):
				t.Fatal("memory limit never hit")
			}
			t.Logf("interrupted after %v", time.Since(start))
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("OnFatal(%v), want ErrMemoryLimit", err)
			}
			<-l.Done()
			logs.waitFor(t, "js memory limit exceeded", "apps/mem/main.js:2:")
			if err := l.Post(func(*goja.Runtime) error { return nil }); !errors.Is(err, ErrClosed) {
				t.Fatalf("post after fatal: %v", err)
			}
			l = nil
			after := liveHeap()
			t.Logf("live heap before %d MiB, after unload %d MiB", before>>20, after>>20)
			if after > before+32<<20 {
				t.Fatalf("heap not returned after unload: %d -> %d bytes", before, after)
			}
		})
	}
}

func TestMemoryWatchIgnoresGarbage(t *testing.T) {
	tl := startLoop(t, Options{MemoryLimitBytes: 16 << 20, HandlerBudget: 30 * time.Second})
	// ~128 MiB of short-lived strings in one callback, never more than a few KiB live.
	tl.script(t, "garbage.js", chunkJS+"for (var i = 0; i < 2000; i++) { var s = chunk + i } done('ok')")
	if ev := tl.nextEvent(t); ev[0] != "ok" {
		t.Fatalf("event %v", ev)
	}
	select {
	case err := <-tl.errs:
		t.Fatalf("garbage counted as growth: %v", err)
	default:
	}
}

// TestMemSamplerIsTheServers: loops given one sampler (a server's) register their callbacks
// with it, so one goroutine samples for all of them; a loop given none gets its own; and the
// sampler's goroutine ends once no callback has been watched for samplerIdle.
func TestMemSamplerIsTheServers(t *testing.T) {
	t.Parallel()
	s := NewMemSampler()
	a, b := New(Options{MemoryLimitBytes: 1 << 30, Sampler: s}), New(Options{MemoryLimitBytes: 1 << 30, Sampler: s})
	own := New(Options{MemoryLimitBytes: 1 << 30})
	for _, l := range []*Loop{a, b, own} {
		l.Start()
		t.Cleanup(l.Close)
	}
	if own.opts.Sampler == nil || own.opts.Sampler == s {
		t.Fatal("a loop without a sampler did not get one of its own")
	}
	for _, l := range []*Loop{a, b} {
		watched := make(chan int, 1)
		if err := l.Post(func(*goja.Runtime) error {
			s.mu.Lock()
			watched <- len(s.watches)
			s.mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n := <-watched; n != 1 {
			t.Fatalf("the server's sampler watched %d callbacks during one, want 1", n)
		}
	}
	deadline := time.Now().Add(samplerIdle + 5*time.Second)
	for {
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sampler goroutine still runs with nothing to watch")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
