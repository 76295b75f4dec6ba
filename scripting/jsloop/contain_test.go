package jsloop

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

const mib = 1 << 20

// TestEstimateRetainedIsPerRuntime: the estimate counts what a runtime keeps, including values
// reachable only through a closure's scope or a timer, counts shared string data once, drops
// what the script let go, and never counts another runtime's values.
func TestEstimateRetainedIsPerRuntime(t *testing.T) {
	grower, innocent := goja.New(), goja.New()
	base, _ := estimateRetained(innocent)
	if _, err := grower.RunString(`var chunk = 'x'; while (chunk.length < 1048576) chunk += chunk;
		(function () { var hidden = []; for (var i = 0; i < 20; i++) hidden.push(chunk + i);
		  globalThis.size = function () { return hidden.length; }; })();
		var same = []; for (var i = 0; i < 1000; i++) same.push(chunk);`); err != nil {
		t.Fatal(err)
	}
	got, complete := estimateRetained(grower)
	if !complete || got < 20*mib || got > 30*mib {
		t.Fatalf("grower: %d MiB (complete %v), want ~21 MiB (20 hidden chunks + 1 shared)", got>>20, complete)
	}
	if after, _ := estimateRetained(innocent); after != base {
		t.Fatalf("innocent runtime's estimate moved from %d to %d bytes", base, after)
	}
	if _, err := grower.RunString(`size = null; same = null; chunk = null;`); err != nil {
		t.Fatal(err)
	}
	// What is left may include a stale slot of the VM's stack (goja keeps it until overwritten).
	if got, _ := estimateRetained(grower); got > 2*mib {
		t.Fatalf("released: still %d KiB", got>>10)
	}
}

// TestRetainedLimitUnloadsGrower: a setInterval that keeps memory is stopped with
// ErrRetainedLimit once its instance's estimate passes the limit, while a loop that makes as much
// garbage (and keeps none) runs on.
func TestRetainedLimitUnloadsGrower(t *testing.T) {
	start := func(src string, fatal chan error) *Loop {
		l := New(Options{Name: "grow/x", Logger: zerolog.Nop(), RetainedLimitBytes: 24 * mib,
			OnFatal: func(err error) { fatal <- err }})
		l.Start()
		if err := l.Post(func(rt *goja.Runtime) error { _, err := rt.RunString(src); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		return l
	}
	const chunk = `var chunk = 'x'; while (chunk.length < 1048576) chunk += chunk; `
	garbage := make(chan error, 1)
	start(chunk+`var n = 0; setInterval(function () { var tmp = chunk + (n++); }, 10);`, garbage)
	fatal := make(chan error, 1)
	start(chunk+`var keep = []; setInterval(function () { keep.push(chunk + keep.length); }, 10);`, fatal)
	select {
	case err := <-fatal:
		if !errors.Is(err, ErrRetainedLimit) || !strings.Contains(err.Error(), "limit 24 MiB") {
			t.Fatalf("want ErrRetainedLimit, got %v", err)
		}
	case err := <-garbage:
		t.Fatalf("the garbage maker was stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the grower was never stopped")
	}
	select {
	case err := <-garbage:
		t.Fatalf("the garbage maker was stopped: %v", err)
	default:
	}
}

// TestCPUMeterThrottlesThenUnloads: busy past the share throttles, a throttled instance whose
// demand fits its share again is released, and one still over after a whole window is over.
func TestCPUMeterThrottlesThenUnloads(t *testing.T) {
	m := newCPUMeter(0.5, time.Second)
	now := time.Unix(100, 0)
	step := func(d time.Duration) cpuVerdict { now = now.Add(d); return m.after(now, d) }
	if v := step(400 * time.Millisecond); v != cpuOK {
		t.Fatalf("400 ms of 1 s: %v", v)
	}
	if v := step(200 * time.Millisecond); v != cpuThrottled {
		t.Fatalf("600 ms of 1 s: %v, want throttled", v)
	}
	if wait := m.payUntil.Sub(now); wait != 600*time.Millisecond {
		t.Fatalf("throttled wait %v, want 3 x 200 ms", wait)
	}
	// Idle for a window: demand drops, the next short callback releases it.
	now = now.Add(2 * time.Second)
	if v := step(time.Millisecond); v != cpuReleased || !m.payUntil.IsZero() {
		t.Fatalf("after a quiet window: %v", v)
	}
	// Spinning: busy and waiting fill the window while throttled; after a window, over.
	var v cpuVerdict
	for i := 0; i < 20 && v != cpuOver; i++ {
		v = step(200 * time.Millisecond)
		if !m.payUntil.IsZero() {
			wait := m.payUntil.Sub(now)
			now = now.Add(wait)
			m.add(now, 0, wait)
		}
	}
	if v != cpuOver {
		t.Fatalf("a spinner was never judged over its share: %v", v)
	}
}

// TestThrottledLoopStopsPromptly: a loop waiting out its throttle (here ~6 s after each 150 ms
// tick: a 5% share) ends when it is closed instead of finishing the wait.
func TestThrottledLoopStopsPromptly(t *testing.T) {
	logs := newLogSink()
	l := New(Options{Name: "spin/x", Logger: zerolog.New(logs), HandlerBudget: time.Second,
		CPUShare: 0.05, CPUWindow: 400 * time.Millisecond})
	l.Start()
	if err := l.Post(func(rt *goja.Runtime) error {
		_, err := rt.RunString(`setInterval(function () { var e = Date.now() + 150; while (Date.now() < e) {} }, 10);`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "throttled")
	start := time.Now()
	l.Close()
	if d := time.Since(start); d > 3*time.Second { // the wait alone is 5.85 s
		t.Fatalf("Close took %v: it waited out the throttle", d)
	}
}

// TestEstimateDeepList: a linked list far deeper than the walk's recursion bound is estimated in
// full (its nodes are set aside and walked later), without a deep Go stack.
func TestEstimateDeepList(t *testing.T) {
	rt := goja.New()
	if _, err := rt.RunString(`var head = null; for (var i = 0; i < 50000; i++) head = {next: head, s: "item " + i};`); err != nil {
		t.Fatal(err)
	}
	got, complete := estimateRetained(rt)
	if !complete || got < 50000*100 {
		t.Fatalf("deep list: %d bytes (complete %v), want > %d", got, complete, 50000*100)
	}
}
