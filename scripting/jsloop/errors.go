package jsloop

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// Sentinel errors. Callers branch on them with errors.Is; a *JSError carrying one of them as its
// Cause matches too.
var (
	// ErrQueueFull is returned by Post when the instance is so far behind that its bounded queue is
	// full: the caller decides whether to drop the event, count it, or wait with PostWait.
	ErrQueueFull = errors.New("jsloop: job queue full")
	// ErrClosed is returned for jobs offered after Close (or after a fatal error ended the loop).
	ErrClosed = errors.New("jsloop: loop closed")
	// ErrHandlerTimeout is the interrupt value of a callback that ran past its budget.
	ErrHandlerTimeout = errors.New("js handler timed out")
	// ErrMemoryLimit is the interrupt value of a callback during which the process heap grew by
	// more than the instance's memory limit; the loop ends and Options.OnFatal receives it.
	ErrMemoryLimit = errors.New("js memory limit exceeded")
	// ErrCPUShare ends the loop of an instance that stayed over its CPU share while throttled for
	// a whole window (contain.go); Options.OnFatal receives it.
	ErrCPUShare = errors.New("js instance over its CPU share")
	// ErrRetainedLimit ends the loop of an instance whose estimated retained heap passed
	// Options.RetainedLimitBytes (contain.go); Options.OnFatal receives it.
	ErrRetainedLimit = errors.New("js instance retained heap over its limit")
	// ErrStackOverflow is the cause of a *JSError made from goja's uncatchable
	// *goja.StackOverflowError (runaway recursion past MaxCallStackSize).
	ErrStackOverflow = errors.New("js stack overflow")
	// ErrPanic is the cause of a *JSError made from a Go panic inside a job.
	ErrPanic = errors.New("go panic in js job")
)

// JSError is an error that came out of JavaScript: a thrown exception, an interrupt (timeout,
// memory) or a stack overflow. Its strings are computed on the loop when the error is made, so
// Error, Stack and FormatError are safe on any goroutine and never run JS again.
type JSError struct {
	// Name is the loop's name (app/instance) for log lines and wrapped messages.
	Name string
	// Message is the exception's first line, e.g. "TypeError: x is not a function".
	Message string
	// Stack is the message followed by one "\tat func (file:line:col(pc))" line per JS frame, as
	// goja's Exception.String formats it; for a Go panic, the Go stack.
	Stack string
	// Cause is ErrHandlerTimeout, ErrMemoryLimit, ErrStackOverflow, ErrPanic, the error value a
	// Go caller passed to Interrupt, or nil for an exception thrown by script.
	Cause error
	// Exception is the goja exception (nil for panics). Touch its Value only on the loop.
	Exception *goja.Exception
	where     string // short "at f (file:1:2(3))", may be empty
}

// Error returns the message and the innermost JS frame, like goja's short form.
func (e *JSError) Error() string {
	prefix := ""
	if e.Name != "" {
		prefix = e.Name + ": "
	}
	return prefix + e.Message + e.where
}

// Unwrap exposes the cause and the goja exception to errors.Is / errors.As.
func (e *JSError) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	if e.Exception != nil {
		out = append(out, e.Exception)
	}
	return out
}

// FormatError renders err for a log line or an operator: the full JS stack of a *JSError
// (message, then "\tat ..." frames with file:line:col), otherwise err.Error().
func FormatError(err error) string {
	if err == nil {
		return ""
	}
	var je *JSError
	if errors.As(err, &je) && je.Stack != "" {
		return strings.TrimRight(je.Stack, "\n")
	}
	return err.Error()
}

// WrapError is wrapJSError for code that runs JS on the loop outside a job's return value (a
// handler whose error the caller reports itself): a goja exception or interrupt becomes a
// *JSError with its JS stack. On the loop only.
func WrapError(name string, err error) error { return wrapJSError(name, err) }

// wrapJSError turns what goja returned into a *JSError (or returns err unchanged when it did not
// come from JS). It must run on the loop: formatting an exception may call script toString.
func wrapJSError(name string, err error) error {
	if err == nil {
		return nil
	}
	var je *JSError
	if errors.As(err, &je) {
		return err
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		cause, ok := ie.Value().(error)
		if !ok {
			cause = fmt.Errorf("interrupted: %v", ie.Value())
		}
		return &JSError{Name: name, Message: cause.Error(), Stack: safeString(ie.String),
			Cause: cause, where: shortWhere(ie.Error(), fmt.Sprint(ie.Value()))}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &JSError{Name: name, Message: "RangeError: Maximum call stack size exceeded",
			Stack: "RangeError: Maximum call stack size exceeded\n" + frames(&so.Exception),
			Cause: ErrStackOverflow}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		full := safeString(ex.String)
		msg, _, _ := strings.Cut(full, "\n")
		return &JSError{Name: name, Message: msg, Stack: full, Exception: ex,
			where: shortWhere(safeString(ex.Error), msg)}
	}
	return err
}

// frames renders only the "\tat" lines of an exception (its value may be nil).
func frames(ex *goja.Exception) string {
	var b bytes.Buffer
	for _, f := range ex.Stack() {
		b.WriteString("\tat ")
		f.Write(&b)
		b.WriteByte('\n')
	}
	return b.String()
}

// shortWhere extracts goja's " at f (file:l:c(pc))" suffix from its short Error() form.
func shortWhere(short, msg string) string {
	if rest, ok := strings.CutPrefix(short, msg); ok && strings.HasPrefix(rest, " at ") {
		return rest
	}
	return ""
}

// safeString calls a formatter that may run script code (a thrown object's toString) and turns
// a throw or panic inside it into a placeholder instead of losing the original error.
func safeString(f func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = "<exception whose toString failed>"
		}
	}()
	return f()
}
