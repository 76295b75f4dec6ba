package jsloop

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/dop251/goja"
)

// NewRuntime makes a runtime configured for this loop (call stack limit, timers, promise
// rejection tracking) and attaches it, so that the watchdog and the memory sampler interrupt it
// too. A reload builds the next generation with it inside a job, then SwapRuntime or DropRuntime.
// On the loop only (New calls it for the first runtime).
func (l *Loop) NewRuntime() *goja.Runtime {
	rt := goja.New()
	rt.SetMaxCallStackSize(l.opts.MaxCallStackSize)
	rt.SetPromiseRejectionTracker(l.trackRejection)
	l.installTimers(rt)
	old := l.attached.Load()
	next := []*goja.Runtime{rt}
	if old != nil {
		next = append(slices.Clone(*old), rt)
	}
	l.attached.Store(&next)
	return rt
}

// Runtime returns the current runtime, the one jobs receive. On the loop only.
func (l *Loop) Runtime() *goja.Runtime { return l.rt }

// SwapRuntime makes rt (from NewRuntime) the runtime later jobs receive. The previous one stays
// attached, with its timers, until DropRuntime. On the loop only.
func (l *Loop) SwapRuntime(rt *goja.Runtime) { l.rt = rt }

// DropRuntime cancels rt's timers and detaches it (a retired or abandoned generation). On the
// loop only.
func (l *Loop) DropRuntime(rt *goja.Runtime) {
	l.timers.cancelRuntime(rt)
	old := l.attached.Load()
	if old == nil {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*old), func(r *goja.Runtime) bool { return r == rt })
	l.attached.Store(&next)
}

// interruptAll interrupts every attached runtime; called from the watchdog and sampler goroutines.
func (l *Loop) interruptAll(v any) {
	if rts := l.attached.Load(); rts != nil {
		for _, rt := range *rts {
			rt.Interrupt(v)
		}
	}
}

// runJob runs fn under the watchdog, the memory sampler and recover, then reports its error and
// any promise rejected and left unhandled during it, and accounts its time and allocation
// (contain.go). A throttled loop waits before it (pace).
func (l *Loop) runJob(budget time.Duration, what string, fn func() error) {
	if !l.pace() {
		return
	}
	start := time.Now()
	if l.audit != nil {
		l.audit.begin(start, l.processHeap())
	}
	err := l.guard(budget, func() error {
		err := wrapJSError(l.opts.Name, fn())
		l.flushRejections()
		return err
	})
	end := time.Now()
	l.accountCPU(end, end.Sub(start))
	if err != nil {
		l.report(what, err)
	}
	if l.audit != nil {
		if alloc, counted := l.audit.end(end); counted && l.fatal == nil {
			l.auditHeap(end, alloc)
		}
	}
}

// guard is the boundary of untrusted execution. Interrupts are cleared only after the watchdog
// is stopped and the sampler has let go of this job, so none can leak into the next one.
func (l *Loop) guard(budget time.Duration, fn func() error) (err error) {
	w := l.startMemWatch()
	l.dog.arm(budget)
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && isUncatchable(e) {
				err = wrapJSError(l.opts.Name, e)
			} else {
				err = &JSError{Name: l.opts.Name, Message: fmt.Sprintf("panic: %v", r),
					Stack: fmt.Sprintf("panic: %v\n%s", r, debug.Stack()), Cause: ErrPanic}
			}
		}
		l.dog.disarm()
		if w != nil && w.stop() {
			l.fatal = fmt.Errorf("%s: %w", l.opts.Name, ErrMemoryLimit)
			if err == nil {
				err = l.fatal
			}
		}
		if rts := l.attached.Load(); rts != nil {
			for _, rt := range *rts {
				rt.ClearInterrupt()
			}
		}
	}()
	return fn()
}

func (l *Loop) report(what string, err error) {
	ev := l.log.Error().Str("src", what).Str("err", err.Error())
	if s := FormatError(err); s != err.Error() {
		ev = ev.Str("stack", s)
	}
	ev.Msg("js error")
	if l.opts.OnError != nil {
		l.opts.OnError(err)
	}
}

// watchdog is one reusable timer per loop that interrupts the running callback after its budget.
type watchdog struct {
	t     *time.Timer
	fired chan struct{} // cap 1: the timer func has finished interrupting
}

func (d *watchdog) init(l *Loop) {
	d.fired = make(chan struct{}, 1)
	d.t = time.AfterFunc(time.Hour, func() {
		l.interruptAll(ErrHandlerTimeout)
		d.fired <- struct{}{}
	})
	d.t.Stop()
}

func (d *watchdog) arm(budget time.Duration) { d.t.Reset(budget) }

// disarm stops the timer; if it already fired, it waits until its Interrupt calls are done.
func (d *watchdog) disarm() {
	if !d.t.Stop() {
		<-d.fired
	}
}

// isUncatchable reports goja's interrupt and stack overflow errors, which may surface as a
// panic when they cross a Go function called from JS.
func isUncatchable(err error) bool {
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	return errors.As(err, &ie) || errors.As(err, &so)
}
