package jsloop

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func TestTimerOrderAndCancel(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "order.js", `
var log = [];
setTimeout(function(){ log.push('c30') }, 30);
setTimeout(function(){ log.push('a0') }, 0);
var x = setTimeout(function(){ log.push('cancelled') }, 5);
setTimeout(function(){ log.push('b0') });
setTimeout(function(){ log.push('neg') }, -5);
setTimeout(function(a, b){ log.push('args:' + a + b) }, 10, 'x', 'y');
clearTimeout(x);
setTimeout(function(){ done(log.join(',')) }, 60);`)
	want := "a0,b0,neg,args:xy,c30"
	if ev := tl.nextEvent(t); ev[0] != want {
		t.Fatalf("order %q, want %q", ev[0], want)
	}
}

func TestIntervalClearedInsideItsCallback(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "interval.js", `
var n = 0;
var id = setInterval(function(){ n++; if (n === 3) { clearInterval(id); done('three') } }, 1);
clearInterval(undefined); clearInterval(987654); clearTimeout('nope'); clearInterval(null); clearInterval(1.5);`)
	if ev := tl.nextEvent(t); ev[0] != "three" {
		t.Fatalf("event %v", ev)
	}
	tl.script(t, "check.js", "setTimeout(function(){ done(n) }, 50)")
	if ev := tl.nextEvent(t); ev[0] != int64(3) {
		t.Fatalf("interval ran %v times after being cleared at 3", ev[0])
	}
}

func TestIntervalMinimumAndClamp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		arg  goja.Value
		want time.Duration
	}{
		{goja.Undefined(), 0},
		{goja.NaN(), 0},
		{goja.PositiveInf(), MaxDelay},
		{goja.NegativeInf(), 0},
	}
	for _, tc := range cases {
		if got := toDelay(tc.arg); got != tc.want {
			t.Errorf("toDelay(%v) = %v, want %v", tc.arg, got, tc.want)
		}
	}
	tl := startLoop(t, Options{})
	start := time.Now()
	tl.script(t, "fast.js", `var k = 0; var iv = setInterval(function(){ if (++k === 5) { clearInterval(iv); done(k) } }, 0)`)
	tl.nextEvent(t)
	if el := time.Since(start); el < 4*MinInterval {
		t.Fatalf("5 runs of a 0 ms interval took %v, want >= %v", el, 4*MinInterval)
	}
}

func TestFMSTimerForms(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "fms.asc", `
var obj = { count: 0, tick: function (a, b) {
	this.count++;
	if (this.count === 2) { clearInterval(this.id); done('method', this.count, a, b) }
} };
obj.id = setInterval(obj, "tick", 5, "x", 7);
function globalTick(v) { done('global', v) }
setTimeout("globalTick", 1, 'g');
function Klass() {} Klass.ping = function () { done('static', this === Klass) };
setTimeout(Klass, "ping", 1);
setTimeout(function (v) { done('fn-with-string-delay', v) }, "2", 'ok');`)
	got := map[any][]any{}
	for range 4 {
		ev := tl.nextEvent(t)
		got[ev[0]] = ev[1:]
	}
	want := map[any][]any{
		"method":               {int64(2), "x", int64(7)},
		"global":               {"g"},
		"static":               {true},
		"fn-with-string-delay": {"ok"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestTimerBadArguments(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "bad.js", `
var errs = [];
try { setTimeout("done('evil')", 1) } catch (e) { errs.push(e.name + ': ' + e.message) }
try { setInterval(42, 1) } catch (e) { errs.push(e.name) }
done(errs.join(' | '))`)
	ev := tl.nextEvent(t)
	s := ev[0].(string)
	if !strings.Contains(s, "TypeError: timer: code strings are not supported") || !strings.HasSuffix(s, "| TypeError") {
		t.Fatalf("errors %q", s)
	}
}

func TestTimerExceptionsAreLoggedAndIntervalsContinue(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{Name: "live/_definst_"})
	tl.script(t, "apps/live/main.js", `var runs = 0;
var iv = setInterval(function kaboom() {
	runs++; if (runs === 3) { clearInterval(iv); done(runs) }
	throw new Error("tick failed " + runs) }, 1);`)
	tl.nextEvent(t)
	for i := range 3 {
		err := tl.nextErr(t)
		var je *JSError
		if !errors.As(err, &je) || !strings.Contains(je.Stack, "at kaboom (apps/live/main.js:4:") {
			t.Fatalf("error %d: %v (stack %q)", i, err, FormatError(err))
		}
	}
	tl.logs.waitFor(t, `"src":"setInterval"`, "tick failed 3", "kaboom (apps/live/main.js:4:")
}

func TestTooManyTimers(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{MaxTimers: 5})
	tl.script(t, "many.js", `
var ids = [];
try { for (var i = 0; i < 10; i++) ids.push(setTimeout(function(){}, 100000)) }
catch (e) { done(e instanceof RangeError, ids.length, e.message) }`)
	ev := tl.nextEvent(t)
	if ev[0] != true || ev[1] != int64(5) {
		t.Fatalf("event %v", ev)
	}
	tl.script(t, "free.js", "clearTimeout(ids[0]); done(typeof setTimeout(function(){}, 1))")
	if ev := tl.nextEvent(t); ev[0] != "number" {
		t.Fatalf("a cleared timer did not free its slot: %v", ev)
	}
}

func TestMethodReplacedBetweenRuns(t *testing.T) {
	t.Parallel()
	tl := startLoop(t, Options{})
	tl.script(t, "swap.js", `
var o = { f: function () { o.f = function () { clearInterval(o.id); done('second') } } };
o.id = setInterval(o, "f", 1);`)
	if ev := tl.nextEvent(t); ev[0] != "second" {
		t.Fatalf("event %v", ev)
	}
	tl.script(t, "gone.js", `var p = { f: function () { delete p.f } }; setTimeout(p, "f", 1); setTimeout(p, "f", 2);`)
	if err := tl.nextErr(t); !strings.Contains(err.Error(), `"f" is not a function`) {
		t.Fatalf("error %v", err)
	}
}

func BenchmarkTimeoutZero(b *testing.B) {
	tl := &testLoop{logs: newLogSink()}
	tl.Loop = New(Options{})
	tl.Start()
	defer tl.Close()
	fired := make(chan struct{}, 1)
	_ = tl.Post(func(rt *goja.Runtime) error {
		return rt.Set("fired", func() { fired <- struct{}{} })
	})
	prg := goja.MustCompile("b.js", "setTimeout(fired, 0)", false)
	job := func(rt *goja.Runtime) error { _, err := rt.RunProgram(prg); return err }
	b.ReportAllocs()
	for b.Loop() {
		_ = tl.Post(job)
		<-fired
	}
}
