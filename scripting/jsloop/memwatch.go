package jsloop

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// The memory sampler: goja has no memory accounting, so while a callback of an instance with a
// memory limit runs, ONE goroutine per server (its MemSampler, shared by every loop in
// Options.Sampler) reads runtime/metrics every SampleInterval and interrupts the callback
// (ErrMemoryLimit) once the heap has grown by more than the limit since the callback began. It
// sleeps while no callback is watched, and exits after samplerIdle without one.
//
// The heap is the process's, so growth is attributed to whichever callbacks are running. Two
// measures keep garbage from counting as growth: the live heap marked by the last GC, and the
// allocated heap beyond the GC goal that held when the callback began (garbage alone cannot
// pass the goal: the collector runs first). Slow growth spread over many callbacks is not this
// sampler's: the retained-heap audit (contain.go) bounds it per instance. Growth from other
// goroutines is not caught, unless it is as large as a limit.

// SampleInterval is how often the sampler reads the heap while a watched callback runs.
const SampleInterval = 5 * time.Millisecond

const (
	metricObjects = "/memory/classes/heap/objects:bytes"
	metricLive    = "/gc/heap/live:bytes"
	metricGoal    = "/gc/heap/goal:bytes"
)

// memSamples is a reusable metrics buffer (one per loop, one for the sampler).
type memSamples [3]metrics.Sample

func (m *memSamples) read() (objects, live, goal uint64) {
	if m[0].Name == "" {
		m[0].Name, m[1].Name, m[2].Name = metricObjects, metricLive, metricGoal
	}
	metrics.Read(m[:])
	return value(m[0]), value(m[1]), value(m[2])
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

// memWatch is one watched callback.
type memWatch struct {
	limit                uint64
	baseLive, baseObject uint64 // baseObject = max(objects, goal) at start
	loop                 *Loop
	fired                bool // guarded by the sampler's mu
}

// exceeded decides from one sample whether the callback has grown past its limit.
func (w *memWatch) exceeded(objects, live uint64) bool {
	return live > w.baseLive+w.limit || objects > w.baseObject+w.limit
}

// MemSampler is the memory sampler of one server's loops (see above). Make one per server with
// NewMemSampler and give it to every loop in Options.Sampler: one goroutine then samples for
// all of them.
type MemSampler struct {
	mu      sync.Mutex
	watches map[*memWatch]struct{}
	running bool // the sampler goroutine runs (started on demand, see samplerIdle)
	kick    chan struct{}
	lastGC  time.Time // sampler goroutine only
}

// NewMemSampler makes a sampler; its goroutine starts with the first watched callback.
func NewMemSampler() *MemSampler {
	return &MemSampler{watches: make(map[*memWatch]struct{}), kick: make(chan struct{}, 1)}
}

// samplerIdle is how long the sampler goroutine waits for a watched callback before it exits
// (the next one starts it again): a server whose apps have no memory limit, or are quiet, keeps
// no sampler goroutine.
const samplerIdle = time.Second

// startMemWatch registers the callback about to run; nil when the loop has no limit.
//
// Reading the heap's metrics cost a callback more than the rest of the loop's bookkeeping, so a
// baseline read less than baseReuse ago is reused: the growth of that moment's other callbacks
// counts toward this one, a small fraction of any limit. The watch itself is the loop's own (one
// callback runs at a time, and stop unregisters it before the next).
func (l *Loop) startMemWatch() *memWatch {
	if l.opts.MemoryLimitBytes == 0 {
		return nil
	}
	if now := time.Now(); now.Sub(l.memBase.at) >= baseReuse {
		objects, live, goal := l.memBuf.read()
		l.memBase = memBaseline{at: now, live: live, objects: max(objects, goal)}
	}
	w := &l.watch
	*w = memWatch{limit: l.opts.MemoryLimitBytes, baseLive: l.memBase.live, baseObject: l.memBase.objects, loop: l}
	l.opts.Sampler.watch(w)
	return w
}

// watch registers w and wakes (or starts) the sampler goroutine for the first watch.
func (s *MemSampler) watch(w *memWatch) {
	s.mu.Lock()
	s.watches[w] = struct{}{}
	first := len(s.watches) == 1
	start := !s.running
	s.running = true
	s.mu.Unlock()
	switch {
	case start:
		go s.run()
	case first:
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// baseReuse is how long a loop reuses a heap baseline (see startMemWatch).
const baseReuse = time.Millisecond

// memBaseline is a loop's last heap reading for its watches.
type memBaseline struct {
	at            time.Time
	live, objects uint64 // objects = max(objects, goal)
}

// stop unregisters w; after it returns the sampler will not interrupt for w. It reports whether
// the limit was hit.
func (w *memWatch) stop() bool {
	s := w.loop.opts.Sampler
	s.mu.Lock()
	delete(s.watches, w)
	fired := w.fired
	s.mu.Unlock()
	return fired
}

// run is the sampler goroutine: it samples while callbacks are watched, waits for a kick while
// none is, and exits after samplerIdle without one.
func (s *MemSampler) run() {
	var buf memSamples
	tick := time.NewTicker(SampleInterval)
	defer tick.Stop()
	idle := time.NewTimer(samplerIdle)
	defer idle.Stop()
	for {
		for s.sample(&buf) {
			<-tick.C
		}
		tick.Stop()
		idle.Reset(samplerIdle)
		select {
		case <-s.kick:
		case <-idle.C:
			if s.exitIfIdle() {
				return
			}
		}
		tick.Reset(SampleInterval)
	}
}

// exitIfIdle marks the goroutine stopped unless a watch arrived meanwhile (then it samples on).
func (s *MemSampler) exitIfIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.watches) > 0 {
		return false
	}
	s.running = false
	return true
}

// confirmGap is the least time between two collections the sampler forces to confirm a
// suspicion (see sample).
const confirmGap = 20 * time.Millisecond

// sample checks every watch once; false when there are none left (the sampler then sleeps).
//
// Both measures can run ahead of a collector starved of CPU (a loaded machine, garbage made
// faster than it is swept, or marked live because it was allocated while a cycle marked), so a
// watch that looks exceeded is confirmed by forcing collections and reading again: what they
// leave is live, and only that interrupts. Forced collections are at least confirmGap apart;
// a suspicion in between waits for the next sample.
func (s *MemSampler) sample(buf *memSamples) bool {
	objects, live, _ := buf.read()
	if s.suspects(objects, live) {
		if time.Since(s.lastGC) < confirmGap {
			return s.watching() // unconfirmed: judged again once a collection may be forced
		}
		// Two collections: what a running callback allocates while the first one marks counts
		// as live for that cycle (a CPU-starved collector marks for long), not for the second.
		runtime.GC()
		runtime.GC()
		s.lastGC = time.Now()
		objects, live, _ = buf.read()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watches {
		if !w.fired && w.exceeded(objects, live) {
			w.fired = true
			w.loop.interruptAll(ErrMemoryLimit)
		}
	}
	return len(s.watches) > 0
}

// watching reports whether any callback is still watched.
func (s *MemSampler) watching() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.watches) > 0
}

// suspects reports whether some watch looks over its limit on this sample.
func (s *MemSampler) suspects(objects, live uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watches {
		if !w.fired && w.exceeded(objects, live) {
			return true
		}
	}
	return false
}
