package jsloop

import (
	"sync/atomic"

	"github.com/dop251/goja"
)

// trackRejection is the runtimes' promise rejection tracker: a rejection without a handler is
// remembered until the end of the current job, and forgotten if a handler is attached before.
func (l *Loop) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		l.rejected = append(l.rejected, p)
	case goja.PromiseRejectionHandle:
		for i, q := range l.rejected {
			if q == p {
				l.rejected = append(l.rejected[:i], l.rejected[i+1:]...)
				break
			}
		}
	}
}

// flushRejections logs the promises rejected during this job that are still unhandled, like a
// browser's "Uncaught (in promise)", with the reason's JS stack when it is an Error.
func (l *Loop) flushRejections() {
	for i, p := range l.rejected {
		l.rejected[i] = nil
		reason := describe(p.Result())
		l.log.Error().Str("src", "promise").Str("stack", reason).Msg("Uncaught (in promise)")
	}
	l.rejected = l.rejected[:0]
}

// describe renders a JS value for a log line: an Error's stack, else its string form.
func describe(v goja.Value) string {
	if v == nil {
		return "undefined"
	}
	if obj, ok := v.(*goja.Object); ok {
		if st, ok := obj.Get("stack").(goja.String); ok {
			return safeString(st.String)
		}
	}
	return safeString(v.String)
}

// Reserve promises the loop a job that Go code will deliver later from any goroutine (k6's
// RegisterCallback): the returned enqueue accepts exactly one job, is never refused for a full
// queue (JS is already waiting for it), ignores calls after the first, and drops the job after
// Close. Call Reserve on the loop.
func (l *Loop) Reserve() func(Job) {
	var used atomic.Bool
	return func(job Job) {
		if used.CompareAndSwap(false, true) {
			_ = l.enqueue(queued{job: job, budget: l.opts.HandlerBudget}, true)
		}
	}
}

// NewPromise makes a promise on the loop whose resolve and reject may be called from any
// goroutine, once between them (later calls are ignored); settlement runs as a loop job. A Go
// error given to reject becomes a JS GoError with its message. Call NewPromise on the loop.
//
//	p, resolve, reject := loop.NewPromise(rt)
//	go func() { v, err := work(); if err != nil { reject(err); return }; resolve(v) }()
//	return rt.ToValue(p)
func (l *Loop) NewPromise(rt *goja.Runtime) (p *goja.Promise, resolve, reject func(v any)) {
	p, res, rej := rt.NewPromise()
	enqueue := l.Reserve()
	resolve = func(v any) {
		enqueue(func(*goja.Runtime) error { return res(v) })
	}
	reject = func(v any) {
		enqueue(func(*goja.Runtime) error {
			if err, ok := v.(error); ok {
				return rej(rt.NewGoError(err))
			}
			return rej(v)
		})
	}
	return p, resolve, reject
}
