package jsloop

import (
	"runtime"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// runInlineOnceIdle runs fn inline as soon as the loop is idle: a loop just started, or whose
// job has just signalled the test, may not be back asleep yet, and RunInline refuses until then.
func runInlineOnceIdle(t *testing.T, tl *testLoop, fn Job) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !tl.RunInline(fn) {
		if time.Now().After(deadline) {
			t.Fatal("not run inline: the loop never went idle")
		}
		runtime.Gosched()
	}
}

// TestRunInlineWhenIdle: an idle loop runs the job on the caller's goroutine before RunInline
// returns; a busy one (a job running, or jobs queued) refuses, so the caller posts and order is
// kept.
func TestRunInlineWhenIdle(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	ran := false
	runInlineOnceIdle(t, tl, func(*goja.Runtime) error { ran = true; return nil })
	if !ran {
		t.Fatal("an idle loop did not run the job inline before RunInline returned")
	}
	release, running := make(chan struct{}), make(chan struct{})
	var order []string // touched by jobs only
	if err := tl.Post(func(*goja.Runtime) error { close(running); <-release; order = append(order, "first"); return nil }); err != nil {
		t.Fatal(err)
	}
	<-running
	second := func(*goja.Runtime) error { order = append(order, "second"); return nil }
	if tl.RunInline(second) {
		t.Fatal("ran inline while a job was running")
	}
	if err := tl.Post(second); err != nil {
		t.Fatal(err)
	}
	if tl.RunInline(func(*goja.Runtime) error { return nil }) {
		t.Fatal("ran inline ahead of queued jobs")
	}
	close(release)
	tl.mustRun(t, func(*goja.Runtime) error {
		if len(order) != 2 || order[0] != "first" || order[1] != "second" {
			t.Errorf("order %v", order)
		}
		return nil
	})
}

// TestRunInlineTimerFires: a timer an inline job sets fires on time, though the loop goroutine
// was asleep with no timer armed when it was set.
func TestRunInlineTimerFires(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.mustRun(t, tl.installDone)
	runInlineOnceIdle(t, tl, func(rt *goja.Runtime) error {
		_, err := rt.RunString(`setTimeout(function () { done("fired"); }, 20);`)
		return err
	})
	select {
	case ev := <-tl.events:
		if len(ev) != 1 || ev[0] != "fired" {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer set by an inline job never fired")
	}
}

// TestRunInlineStopEndsLoop: a job run inline that stops the loop ends it (Done), as a posted
// one does; afterwards nothing runs inline.
func TestRunInlineStopEndsLoop(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	runInlineOnceIdle(t, tl, func(*goja.Runtime) error { tl.Stop(); return nil })
	select {
	case <-tl.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not end after an inline job stopped it")
	}
	if tl.RunInline(func(*goja.Runtime) error { t.Error("ran after the loop ended"); return nil }) {
		t.Fatal("RunInline ran on an ended loop")
	}
}

// TestRunInlineNotBeforeStart: a loop that was never started runs nothing inline.
func TestRunInlineNotBeforeStart(t *testing.T) {
	t.Parallel()
	l := New(Options{})
	defer l.Stop()
	if l.RunInline(func(*goja.Runtime) error { return nil }) {
		t.Fatal("ran inline on a loop that was never started")
	}
}
