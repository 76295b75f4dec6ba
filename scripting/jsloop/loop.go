// Package jsloop is the event loop of one app instance: the only goroutine that touches that
// instance's goja runtime. Everything else (connections, the trunk, Go code finishing async work)
// talks to JavaScript by posting jobs onto a bounded FIFO queue. Each job and each timer callback
// runs under recover and a watchdog that interrupts it after its budget, and, when a memory limit
// is set, under its server's heap sampler (MemSampler), which interrupts a callback whose
// allocations run away.
// Across callbacks, an instance that keeps too much (its estimated retained heap) or holds a core
// too long (its CPU share over a window, throttled first) is ended (contain.go).
//
// goja checks interrupts only between JS operations and is not goroutine-safe, so the loop owns
// the runtime, Go functions exposed to JS must never block, and the only cross-goroutine calls
// into a runtime are the watchdog's and the sampler's rt.Interrupt.
package jsloop

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

// Job is work run on the loop with the instance's current runtime. A returned error is logged
// with its JS stack (see FormatError) and passed to Options.OnError; return nil for errors the
// job handled itself.
type Job func(rt *goja.Runtime) error

// Defaults for zero Options fields.
const (
	DefaultQueueSize        = 4096
	DefaultHandlerBudget    = time.Second
	DefaultMaxCallStackSize = 1500
	DefaultMaxTimers        = 10000
)

// Options configures a loop. Zero fields take the defaults above; MemoryLimitBytes 0 disables
// the heap sampler.
type Options struct {
	QueueSize        int           // bound of the job queue seen by Post/PostWait
	HandlerBudget    time.Duration // watchdog budget of each job and timer callback
	MaxCallStackSize int           // goja call depth before an uncatchable stack overflow
	MaxTimers        int           // live timers per loop; setTimeout beyond it throws RangeError
	MemoryLimitBytes uint64        // heap growth allowed during one callback (see memwatch.go)
	// Sampler watches the callbacks' heap growth for MemoryLimitBytes: the server's, shared by
	// all its loops (nil: the loop makes one of its own).
	Sampler *MemSampler
	// RetainedLimitBytes is the estimated heap the instance may keep across callbacks, and
	// CPUShare the fraction of one core its callbacks may hold over CPUWindow (contain.go);
	// zero disables each.
	RetainedLimitBytes uint64
	CPUShare           float64
	CPUWindow          time.Duration
	Logger             zerolog.Logger
	Name               string // "app/instance", attached to every log line and error
	// OnFatal is called once, on the loop goroutine after Done is closed, when the instance must
	// be unloaded (ErrMemoryLimit, ErrRetainedLimit, ErrCPUShare). The loop has already stopped; calling Close in it is fine.
	OnFatal func(err error)
	// OnError, if set, sees every job error after it is logged, on the loop (e.g. to forward it
	// to application.onStatus with a new job).
	OnError func(err error)
}

func (o *Options) setDefaults() {
	if o.Sampler == nil && o.MemoryLimitBytes > 0 {
		o.Sampler = NewMemSampler()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.HandlerBudget <= 0 {
		o.HandlerBudget = DefaultHandlerBudget
	}
	if o.MaxCallStackSize <= 0 {
		o.MaxCallStackSize = DefaultMaxCallStackSize
	}
	if o.MaxTimers <= 0 {
		o.MaxTimers = DefaultMaxTimers
	}
}

type queued struct {
	job    Job
	budget time.Duration
}

// Loop runs jobs and timers of one app instance, one at a time: on its own goroutine, or, for
// RunInline, on the goroutine that offers a job while the loop is idle. Post, PostWait,
// RunInline, Reserve's enqueue, Stop, Close and Done are safe from any goroutine; every other
// method is for jobs (it must run on the loop, i.e. while exec is held).
type Loop struct {
	opts Options
	log  zerolog.Logger

	mu      sync.Mutex // guards queue, closed, space
	queue   []queued
	closed  bool
	space   chan struct{} // closed when the queue drains, for PostWait; nil without waiters
	stopped atomic.Bool   // closed, readable without mu between jobs

	wake      chan struct{} // cap 1: "the queue is not empty or Stop was called"
	done      chan struct{}
	stopc     chan struct{} // closed by Stop and finish (wakes a throttled loop)
	stopOnce  sync.Once
	startOnce sync.Once
	started   atomic.Bool // the loop goroutine runs (RunInline needs it to finish the loop)

	attached atomic.Pointer[[]*goja.Runtime] // runtimes the watchdog and sampler interrupt
	dog      watchdog

	// exec is held by whoever runs jobs or timers: the loop goroutine, or a RunInline caller.
	exec sync.Mutex
	// Owned by the holder of exec.
	rt       *goja.Runtime
	spare    []queued
	timers   timerSet
	rejected []*goja.Promise
	memBuf   memSamples
	memBase  memBaseline
	watch    memWatch   // the running callback's (see startMemWatch)
	cpu      *cpuMeter  // nil without a CPU share
	audit    *heapAudit // nil without a retained limit
	fatal    error
}

// New makes a loop with a fresh runtime (call stack limit, timers and the promise rejection
// tracker installed). Nothing runs until Start.
func New(opts Options) *Loop {
	opts.setDefaults()
	l := &Loop{
		opts:  opts,
		log:   opts.Logger.With().Str("app", opts.Name).Logger(),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		stopc: make(chan struct{}),
		cpu:   newCPUMeter(opts.CPUShare, opts.CPUWindow),
	}
	if opts.RetainedLimitBytes > 0 {
		l.audit = &heapAudit{limit: opts.RetainedLimitBytes}
	}
	l.dog.init(l)
	l.timers.init()
	l.rt = l.NewRuntime()
	return l
}

// Start runs the loop on its own goroutine. Calling it again, or after Close, does nothing.
func (l *Loop) Start() {
	l.startOnce.Do(func() {
		l.started.Store(true)
		go l.run()
	})
}

// Done is closed when the loop goroutine has ended (Close, or a fatal error).
func (l *Loop) Done() <-chan struct{} { return l.done }

// Post offers a job without blocking: ErrQueueFull when the queue is at its bound, ErrClosed
// after Close. Jobs run in the order they were accepted.
func (l *Loop) Post(job Job) error {
	return l.enqueue(queued{job: job, budget: l.opts.HandlerBudget}, false)
}

// PostBudget is Post with a budget other than HandlerBudget (a reload swap gets 5 s).
func (l *Loop) PostBudget(job Job, budget time.Duration) error {
	return l.enqueue(queued{job: job, budget: budget}, false)
}

// PostWait is Post that waits for queue space until ctx ends.
func (l *Loop) PostWait(ctx context.Context, job Job) error {
	q := queued{job: job, budget: l.opts.HandlerBudget}
	for {
		l.mu.Lock()
		switch {
		case l.closed:
			l.mu.Unlock()
			return ErrClosed
		case len(l.queue) < l.opts.QueueSize:
			l.queue = append(l.queue, q)
			l.mu.Unlock()
			l.poke()
			return nil
		}
		if l.space == nil {
			l.space = make(chan struct{})
		}
		space := l.space
		l.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enqueue appends q; reserved jobs (promised by Reserve) are never refused for being over the
// bound, because the JS side already waits for them.
func (l *Loop) enqueue(q queued, reserved bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if !reserved && len(l.queue) >= l.opts.QueueSize {
		l.mu.Unlock()
		return ErrQueueFull
	}
	l.queue = append(l.queue, q)
	l.mu.Unlock()
	l.poke()
	return nil
}

func (l *Loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop refuses new jobs, drops queued ones and cancels timers; the running job (if any) finishes
// or is interrupted by its watchdog. It does not wait, so a job may call it (application.shutdown).
func (l *Loop) Stop() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.stopped.Store(true)
		l.queue = nil
		if l.space != nil {
			close(l.space)
			l.space = nil
		}
	}
	l.mu.Unlock()
	l.stopOnce.Do(func() { close(l.stopc) })
	l.startOnce.Do(func() { l.finish() }) // never started: nothing else will close done
	l.poke()
}

// Close is Stop, then waits until the loop goroutine has ended. Never call it from a job.
func (l *Loop) Close() {
	l.Stop()
	<-l.done
}

// run is the loop goroutine: jobs in FIFO order, then due timers, then sleep until either.
func (l *Loop) run() {
	defer func() {
		l.exec.Lock()
		defer l.exec.Unlock()
		l.finish()
	}()
	for {
		more, ok := l.turn()
		if !ok {
			return
		}
		if more {
			continue
		}
		select {
		case <-l.wake:
		case <-l.timers.wake.C:
		}
	}
}

// turn runs what is queued and the due timers, holding exec; more reports that jobs ran (look
// again before sleeping), ok false that the loop must end.
func (l *Loop) turn() (more, ok bool) {
	l.exec.Lock()
	defer l.exec.Unlock()
	batch, ok := l.take()
	if !ok {
		return false, false
	}
	for i := range batch {
		if l.stopped.Load() || l.fatal != nil {
			return false, false
		}
		q := batch[i]
		batch[i] = queued{}
		rt := l.rt
		l.runJob(q.budget, "job", func() error { return q.job(rt) })
	}
	l.spare = batch[:0]
	l.runDueTimers()
	if l.stopped.Load() || l.fatal != nil {
		return false, false
	}
	if len(batch) == 0 {
		l.timers.arm() // about to sleep
	}
	return len(batch) > 0, true
}

// RunInline runs job at once on the calling goroutine, under the handler budget and every bound
// a posted job has, when the loop is idle: nothing queued, no job or timer running, the
// instance not throttled. It saves the hand-over to the loop goroutine and back, which costs
// more than a short job (an RPC handler) on a quiet server. False means it did not run: Post
// it. The caller must hold no lock that a job may take (a job may use shared objects, answer
// clients, post to this loop), and accept being held for as long as the job runs.
func (l *Loop) RunInline(job Job) bool {
	if !l.started.Load() || !l.exec.TryLock() {
		return false
	}
	defer l.exec.Unlock()
	l.mu.Lock()
	idle := !l.closed && len(l.queue) == 0
	l.mu.Unlock()
	if !idle || l.fatal != nil || l.throttled() {
		return false
	}
	rt := l.rt
	l.runJob(l.opts.HandlerBudget, "job", func() error { return job(rt) })
	l.timers.arm() // the job may have set a timer earlier than the loop goroutine waits for
	if l.fatal != nil || l.stopped.Load() {
		l.poke() // the loop goroutine ends the loop (finish, OnFatal)
	}
	return true
}

// take swaps out the queued jobs; ok is false once the loop is closed.
func (l *Loop) take() (batch []queued, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	batch, l.queue = l.queue, l.spare
	l.spare = nil
	if l.space != nil {
		close(l.space)
		l.space = nil
	}
	return batch, true
}

// finish releases everything the instance holds so that its heap can be collected, closes
// done, and reports a fatal error last.
func (l *Loop) finish() {
	l.mu.Lock()
	l.closed = true
	l.stopped.Store(true)
	l.queue = nil
	l.mu.Unlock()
	l.stopOnce.Do(func() { close(l.stopc) })
	l.timers.cancelAll()
	l.attached.Store(nil)
	l.rt, l.rejected, l.spare = nil, nil, nil
	close(l.done)
	if l.fatal != nil && l.opts.OnFatal != nil {
		l.opts.OnFatal(l.fatal)
	}
}
