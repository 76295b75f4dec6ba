package jsloop

import (
	"fmt"
	"runtime/metrics"
	"time"
)

// Containment across callbacks. The watchdog and the memory sampler cut one callback; these
// bound what an instance does over many of them:
//
//   - CPU share: the wall time of the loop's callbacks (jobs and timers) is summed over a sliding
//     window. An instance busy for more than CPUShare of CPUWindow is throttled: before each
//     later callback the loop sleeps long enough that it runs at most half its share, and the
//     time it spends waiting counts as demand. Once its demand (busy + waiting) fits its share
//     again it is released; if it is still over after a whole window throttled, the loop ends
//     with ErrCPUShare. Wall time is what the loop holds the runtime for, so on an overloaded
//     machine a callback counts the time it was descheduled too: a share is a bound on an
//     instance's claim on a core, not a precise CPU meter.
//   - Retained heap: bytes the process allocated during the instance's callbacks are summed;
//     retained growth needs allocation, so while the last estimate plus those bytes stays under
//     RetainedLimitBytes nothing is measured (nor counted while the whole process heap is under
//     it). Past it, the loop estimates what its runtimes keep reachable (estimateRetained,
//     bounded cost) between callbacks, at most every auditGap and never more than ~5% of its
//     time; an estimate over the limit ends the loop with ErrRetainedLimit. Only the instance's
//     own object graph is counted, so another instance's growth is never blamed on it. What the
//     estimate does not see: memory the host keeps for the instance outside goja (shared object
//     slots, queued client calls, Go objects exposed to JS: each bounded on its own), values held
//     only by Go closures (promise resolvers kept by Go code), and compiled code; while a hot
//     reload runs, both generations count.

// cpuSlots is the resolution of the CPU window.
const cpuSlots = 20

// auditGap is the least time between two retained-heap estimates of one loop.
const auditGap = 100 * time.Millisecond

const metricAllocs = "/gc/heap/allocs:bytes"

// cpuMeter is one loop's CPU accounting; loop goroutine only.
type cpuMeter struct {
	share  float64
	window time.Duration
	slot   time.Duration
	busy   [cpuSlots]time.Duration
	paced  [cpuSlots]time.Duration
	slotAt [cpuSlots]int64 // which slot number each entry holds

	throttledSince time.Time // zero when not throttled
	payUntil       time.Time // a throttled loop waits until then before its next callback
}

func newCPUMeter(share float64, window time.Duration) *cpuMeter {
	if share <= 0 || window <= 0 {
		return nil
	}
	return &cpuMeter{share: share, window: window, slot: max(window/cpuSlots, time.Millisecond)}
}

func (m *cpuMeter) add(now time.Time, busy, paced time.Duration) {
	n := now.UnixNano() / int64(m.slot)
	i := n % cpuSlots
	if m.slotAt[i] != n {
		m.slotAt[i], m.busy[i], m.paced[i] = n, 0, 0
	}
	m.busy[i] += busy
	m.paced[i] += paced
}

// sums returns the busy and waiting time within the window ending at now.
func (m *cpuMeter) sums(now time.Time) (busy, paced time.Duration) {
	n := now.UnixNano() / int64(m.slot)
	for i := range m.slotAt {
		if n-m.slotAt[i] < cpuSlots {
			busy += m.busy[i]
			paced += m.paced[i]
		}
	}
	return busy, paced
}

// cpuVerdict is what one callback's accounting decided.
type cpuVerdict int

const (
	cpuOK cpuVerdict = iota
	cpuThrottled
	cpuReleased
	cpuOver // still over after a whole window throttled: unload
)

// after accounts a callback of d that ended at now.
func (m *cpuMeter) after(now time.Time, d time.Duration) cpuVerdict {
	m.add(now, d, 0)
	busy, paced := m.sums(now)
	limit := time.Duration(m.share * float64(m.window))
	v := cpuOK
	switch {
	case m.throttledSince.IsZero() && busy > limit:
		m.throttledSince, v = now, cpuThrottled
	case m.throttledSince.IsZero():
	case busy+paced <= limit:
		m.throttledSince, m.payUntil, v = time.Time{}, time.Time{}, cpuReleased
	case now.Sub(m.throttledSince) >= m.window:
		return cpuOver
	}
	if !m.throttledSince.IsZero() { // run at most half the share: wait (2/share - 1) × d
		m.payUntil = now.Add(time.Duration(float64(d) * (2/m.share - 1)))
	}
	return v
}

// pace makes a throttled loop wait before its next callback; false when the loop was stopped
// meanwhile.
// throttled reports whether the instance is paying for CPU beyond its share right now.
func (l *Loop) throttled() bool {
	m := l.cpu
	return m != nil && !m.payUntil.IsZero() && time.Now().Before(m.payUntil)
}

func (l *Loop) pace() bool {
	m := l.cpu
	if m == nil || m.payUntil.IsZero() {
		return true
	}
	start := time.Now()
	wait := m.payUntil.Sub(start)
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.stopc:
		return false
	}
	now := time.Now()
	m.add(now, 0, now.Sub(start))
	return true
}

// accountCPU runs after each callback of d, which ended at now.
func (l *Loop) accountCPU(now time.Time, d time.Duration) {
	m := l.cpu
	if m == nil {
		return
	}
	switch m.after(now, d) {
	case cpuThrottled:
		l.log.Warn().Float64("share", m.share).Dur("window", m.window).Msg("instance over its CPU share; throttled")
	case cpuReleased:
		l.log.Info().Msg("instance back within its CPU share; no longer throttled")
	case cpuOver:
		if l.fatal != nil {
			return
		}
		l.fatal = fmt.Errorf("%s: %w: busy more than %.0f%% of a core over %v, and still after %v throttled",
			l.opts.Name, ErrCPUShare, m.share*100, m.window, m.window)
	}
}

// heapAudit is one loop's retained-heap accounting; loop goroutine only.
type heapAudit struct {
	limit    uint64
	estimate uint64 // last estimate
	alloc    uint64 // process allocation during this loop's callbacks since that estimate
	next     time.Time
	partial  bool      // an estimate stopped at maxWalkNodes (logged once)
	last     uint64    // the process's allocation counter at lastAt
	lastAt   time.Time // the end of the last counted callback
	counting bool      // the running callback's allocation is counted (begin)
	unknown  bool      // a callback was not counted since the last estimate
	buf      [1]metrics.Sample
}

func (a *heapAudit) allocated() uint64 {
	if a.buf[0].Name == "" {
		a.buf[0].Name = metricAllocs
	}
	metrics.Read(a.buf[:])
	return value(a.buf[0])
}

// begin starts counting a callback's allocation; heap is the process's heap as last read. While
// the whole process holds less than the limit no instance can be over it, so nothing is counted
// (no reading at all) and the instance is audited the first time it counts again (unknown). A
// callback that starts within baseReuse of the last one's end reuses that reading (the gap's
// allocations count as its own: more than it made, never less), which halves the reads.
func (a *heapAudit) begin(now time.Time, heap uint64) {
	a.counting = heap >= a.limit
	if !a.counting {
		a.unknown, a.lastAt = true, time.Time{}
		return
	}
	if now.Sub(a.lastAt) > baseReuse {
		a.last = a.allocated()
	}
}

// end returns what the process allocated since begin; false when begin did not count.
func (a *heapAudit) end(now time.Time) (uint64, bool) {
	if !a.counting {
		return 0, false
	}
	v := a.allocated()
	d := v - a.last
	a.last, a.lastAt = v, now
	return d, true
}

// processHeap is the process heap for begin: the memory watch's baseline when it runs (read at
// most every baseReuse, maybe a callback old: a callback begun on a stale figure is not counted
// and leaves the instance unknown, so nothing is missed), else a reading of its own.
func (l *Loop) processHeap() uint64 {
	if l.opts.MemoryLimitBytes > 0 {
		return l.memBase.objects
	}
	objects, _, goal := l.memBuf.read()
	return max(objects, goal)
}

// auditHeap runs after a callback that made the process allocate alloc bytes; it estimates the
// instance's retained heap when that could be over the limit, and ends the loop if it is.
func (l *Loop) auditHeap(now time.Time, alloc uint64) {
	a := l.audit
	a.alloc += alloc
	if (!a.unknown && a.estimate+a.alloc < a.limit) || now.Before(a.next) {
		return
	}
	if objects, _, _ := l.memBuf.read(); objects < a.limit {
		return // the whole process holds less than one instance's limit
	}
	began := time.Now()
	est, complete := estimateRetained(l.auditRoots()...)
	took := time.Since(began)
	a.estimate, a.alloc, a.unknown, a.next = est, 0, false, now.Add(max(auditGap, 20*took))
	l.log.Debug().Uint64("retained_bytes", est).Bool("complete", complete).Dur("took", took).Msg("retained heap estimated")
	if !complete && !a.partial {
		a.partial = true
		l.log.Warn().Uint64("at_least_bytes", est).Msg("retained heap too large to estimate fully; judged by a lower bound")
	}
	if est > a.limit {
		l.fatal = fmt.Errorf("%s: %w: about %d MiB kept across callbacks, limit %d MiB",
			l.opts.Name, ErrRetainedLimit, est>>20, a.limit>>20)
	}
}

// auditRoots is what an instance keeps alive: its runtimes, the values its timers hold, and its
// unhandled rejected promises.
func (l *Loop) auditRoots() []any {
	var roots []any
	if rts := l.attached.Load(); rts != nil {
		for _, rt := range *rts {
			roots = append(roots, rt)
		}
	}
	for _, t := range l.timers.byID {
		roots = append(roots, t.val, t.this)
		for _, a := range t.args {
			roots = append(roots, a)
		}
	}
	for _, p := range l.rejected {
		roots = append(roots, p)
	}
	return roots
}
