package jsloop

import (
	"container/heap"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/dop251/goja"
)

// Timer limits. Intervals shorter than MinInterval are raised to it: a 0 ms interval would
// otherwise starve every other event of the instance. Delays are clamped to MaxDelay
// (2^31-1 ms, about 24.8 days) instead of the browsers' surprising "fire at once".
const (
	MinInterval = 10 * time.Millisecond
	MaxDelay    = time.Duration(math.MaxInt32) * time.Millisecond
)

// timer is one setTimeout/setInterval. The callback is a function, or FMS-style an object and
// a method name looked up when it fires (so a reassigned method takes effect).
type timer struct {
	id       int64
	when     time.Time
	seq      uint64 // tie-break: equal deadlines fire in creation order
	interval time.Duration
	rt       *goja.Runtime
	fn       goja.Callable
	val      goja.Value // the callback as JS passed it (fn is opaque to the retained-heap walk)
	this     goja.Value
	method   string
	args     []goja.Value
	index    int // position in the heap, -1 when not in it (running or cleared)
	cleared  bool
}

// timerSet is the loop's timers: a heap by deadline armed with ONE time.Timer for the earliest,
// so there is no goroutine per timer. Loop goroutine only.
type timerSet struct {
	heap   timerHeap
	byID   map[int64]*timer
	nextID int64
	seq    uint64
	wake   *time.Timer
}

func (s *timerSet) init() {
	s.byID = make(map[int64]*timer)
	s.wake = time.NewTimer(time.Hour)
	s.wake.Stop()
}

// arm sets the wake timer to the earliest deadline (Go 1.23+ timers drop stale fires on Reset).
func (s *timerSet) arm() {
	if len(s.heap) == 0 {
		s.wake.Stop()
		return
	}
	s.wake.Reset(time.Until(s.heap[0].when))
}

func (s *timerSet) add(t *timer) {
	s.nextID++
	s.seq++
	t.id, t.seq = s.nextID, s.seq
	s.byID[t.id] = t
	heap.Push(&s.heap, t)
}

func (s *timerSet) clear(id int64) {
	t, ok := s.byID[id]
	if !ok {
		return
	}
	t.cleared = true
	delete(s.byID, id)
	if t.index >= 0 {
		heap.Remove(&s.heap, t.index)
	}
}

func (s *timerSet) cancelRuntime(rt *goja.Runtime) {
	for id, t := range s.byID {
		if t.rt == rt {
			s.clear(id)
		}
	}
}

func (s *timerSet) cancelAll() {
	for id := range s.byID {
		s.clear(id)
	}
	s.wake.Stop()
}

// runDueTimers runs every timer due now, in deadline order, each as its own guarded job.
func (l *Loop) runDueTimers() {
	s := &l.timers
	now := time.Now()
	for len(s.heap) > 0 && !s.heap[0].when.After(now) {
		if l.stopped.Load() || l.fatal != nil {
			return
		}
		t := heap.Pop(&s.heap).(*timer)
		what := "setTimeout"
		if t.interval > 0 {
			what = "setInterval"
		}
		l.runJob(l.opts.HandlerBudget, what, func() error { return l.fire(t) })
		if t.interval > 0 && !t.cleared {
			s.seq++
			t.when, t.seq = time.Now().Add(t.interval), s.seq
			heap.Push(&s.heap, t)
		} else if !t.cleared {
			delete(s.byID, t.id)
		}
	}
}

func (l *Loop) fire(t *timer) error {
	fn := t.fn
	if fn == nil {
		var m goja.Value
		if ex := t.rt.Try(func() { m = t.this.(*goja.Object).Get(t.method) }); ex != nil {
			return ex
		}
		f, ok := goja.AssertFunction(m)
		if !ok {
			return fmt.Errorf("timer callback %q is not a function", t.method)
		}
		fn = f
	}
	_, err := fn(t.this, t.args...)
	return err
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// installTimers defines setTimeout, setInterval, clearTimeout and clearInterval on rt.
func (l *Loop) installTimers(rt *goja.Runtime) {
	set := func(repeat bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if len(l.timers.byID) >= l.opts.MaxTimers {
				panic(rangeError(rt, "too many timers (limit %d)", l.opts.MaxTimers))
			}
			t := parseTimer(rt, call, repeat)
			l.timers.add(t)
			return rt.ToValue(t.id)
		}
	}
	clear := func(call goja.FunctionCall) goja.Value {
		id := call.Argument(0).ToFloat()
		if id == math.Trunc(id) && id > 0 {
			l.timers.clear(int64(id))
		}
		return goja.Undefined()
	}
	mustSet(rt, "setTimeout", set(false))
	mustSet(rt, "setInterval", set(true))
	mustSet(rt, "clearTimeout", clear)
	mustSet(rt, "clearInterval", clear)
}

func mustSet(rt *goja.Runtime, name string, fn func(goja.FunctionCall) goja.Value) {
	if err := rt.Set(name, fn); err != nil {
		panic(err) // only fails for a frozen global object, which a fresh runtime has not
	}
}

// parseTimer reads the three accepted forms: (fn, ms, ...args), FMS (obj, "method", ms, ...args),
// and ("globalFunctionName", ms, ...args). String code is refused.
func parseTimer(rt *goja.Runtime, call goja.FunctionCall, repeat bool) *timer {
	a0, a1 := call.Argument(0), call.Argument(1)
	t := &timer{rt: rt, this: goja.Undefined(), val: a0}
	rest := 1
	fn, callable := goja.AssertFunction(a0)
	if obj, ok := a0.(*goja.Object); ok && isString(a1) && (!callable || isFunction(obj.Get(a1.String()))) {
		t.this, t.method, rest = obj, a1.String(), 2
	} else if callable {
		t.fn = fn
	} else if isString(a0) && identifier.MatchString(a0.String()) {
		t.this, t.method = rt.GlobalObject(), a0.String()
	} else if isString(a0) {
		panic(rt.NewTypeError("timer: code strings are not supported; pass a function, " +
			"a global function's name, or (object, \"method\")"))
	} else {
		panic(rt.NewTypeError("timer: callback must be a function"))
	}
	delay := toDelay(call.Argument(rest))
	if len(call.Arguments) > rest+1 {
		t.args = append([]goja.Value(nil), call.Arguments[rest+1:]...)
	}
	if repeat {
		t.interval = max(delay, MinInterval)
		delay = t.interval
	}
	t.when = time.Now().Add(delay)
	return t
}

func isString(v goja.Value) bool {
	_, ok := v.(goja.String)
	return ok
}

func isFunction(v goja.Value) bool {
	_, ok := goja.AssertFunction(v)
	return ok
}

// rangeError builds a JS RangeError to panic with from a Go function called by JS.
func rangeError(rt *goja.Runtime, format string, args ...any) *goja.Object {
	ctor, _ := goja.AssertConstructor(rt.Get("RangeError"))
	if ctor == nil {
		return rt.NewTypeError("%s", fmt.Sprintf(format, args...))
	}
	obj, err := ctor(nil, rt.ToValue(fmt.Sprintf(format, args...)))
	if err != nil {
		return rt.NewTypeError("%s", fmt.Sprintf(format, args...))
	}
	return obj
}

// toDelay converts a JS delay in ms: NaN and negatives are 0, large values MaxDelay.
func toDelay(v goja.Value) time.Duration {
	ms := v.ToFloat()
	switch {
	case math.IsNaN(ms) || ms <= 0:
		return 0
	case ms >= float64(MaxDelay/time.Millisecond):
		return MaxDelay
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// timerHeap orders timers by deadline, then creation.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
