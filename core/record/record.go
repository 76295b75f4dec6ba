// Package record records a live stream of the hub into an FLV file (core/flv) through the
// storage extension point: FMS's publish types "record", "append" and "appendWithGap".
//
// A Recorder is one more subscriber of the stream, like a player: the hub hands it messages
// under the stream's lock into a bounded queue, and its own goroutine writes them, so a slow
// disk never slows the publisher or the players. A full queue refuses media and the hub skips
// the recorder to the next keyframe, as it does a slow player (counted, logged at most every
// ReportEvery). The statuses a client sees (Record.Start, Record.Stop, Record.Failed) are
// sent through Config.Status, exactly one end status per Recorder, in order with the caller's
// own statuses (see Stop).
package record

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// Mode is how a recording treats an existing file.
type Mode uint8

// Modes, FMS's publish types.
const (
	// Overwrite starts the file anew ("record").
	Overwrite Mode = iota + 1
	// Append continues it right after its last frame ("append").
	Append
	// AppendWithGap continues it after a gap as long as the time since the file was last
	// written ("appendWithGap"), so the file's timeline follows the wall clock.
	AppendWithGap
)

// ModeOf maps a publish type to its Mode; ok is false for "live" and anything else.
func ModeOf(publishType string) (Mode, bool) {
	switch publishType {
	case "record":
		return Overwrite, true
	case "append":
		return Append, true
	case "appendWithGap":
		return AppendWithGap, true
	}
	return 0, false
}

// The status codes a Recorder sends.
const (
	CodeStart  = "NetStream.Record.Start"
	CodeStop   = "NetStream.Record.Stop"
	CodeFailed = "NetStream.Record.Failed"
)

// Config is one recording.
type Config struct {
	Hub     *live.Hub
	Stream  string // the hub's stream name
	Storage plugin.Storage
	Path    string // the file, relative to the storage root (already checked)
	Mode    Mode
	// Options are the FLV writer's (limits: MaxDuration, MaxSize; AppendGap is set here).
	Options flv.Options
	// QueueBytes bounds the media waiting to be written (default 8 MiB).
	QueueBytes int
	// ReportEvery is the most often drops are logged (default 10 s).
	ReportEvery time.Duration
	Log         zerolog.Logger
	// Status sends a status to the client (any goroutine: a queueing send). It is called with
	// the Recorder's status lock held, so statuses keep their order.
	Status func(level, code, description string)
	// Started (optional) is told when the file is open and Record.Start sent; Ended when the
	// recording is over and the file closed. Both run on the Recorder's goroutine.
	Started func()
	Ended   func(Result)
}

// Result is what a recording wrote.
type Result struct {
	// Bytes and Duration are what this recording added to the file (media time).
	Bytes    int64
	Duration time.Duration
	// Size and Total are the file's size and duration at the end.
	Size  int64
	Total time.Duration
	// Code is the end status sent (CodeStop or CodeFailed; "" if none was: a recording stopped
	// before its file was open). Err is why it failed or stopped by itself, nil on Stop.
	Code  string
	Err   error
	Drops uint64 // messages missed: refused (queue full) or skipped to the next keyframe
}

// ErrTooSlow is why a recording ends when the hub cut it off (the disk kept it behind).
var ErrTooSlow = errors.New("record: the storage stayed behind the live stream too long")

type item struct {
	p  *media.Packet
	ts uint32
}

// Recorder is one running recording: a live.Subscriber of its stream.
type Recorder struct {
	cfg  Config
	sub  *live.Subscription
	set  *Set
	prev <-chan struct{} // the previous recorder of the path, to wait for
	done chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	stop   chan struct{}
	ready  chan struct{} // closed by Run or Stop: the goroutine may go
	once   sync.Once

	mu    sync.Mutex // the queue; guards q, spare, bytes, cut, halt
	q     []item
	spare []item
	bytes int
	cut   error // why the hub dropped the recorder (nil: it did not)
	halt  bool

	stMu    sync.Mutex // the statuses: held while one is sent
	started bool
	ended   bool
}

// release lets the goroutine go.
func (r *Recorder) release() { r.once.Do(func() { close(r.ready) }) }

// Deliver implements live.Subscriber: queues p, or refuses it when the queue is full.
func (r *Recorder) Deliver(p *media.Packet, ts uint32) bool {
	r.mu.Lock()
	if r.halt || r.bytes+len(p.Payload) > r.cfg.QueueBytes {
		r.mu.Unlock()
		return false
	}
	r.q = append(r.q, item{p, ts})
	r.bytes += len(p.Payload)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

// Notify implements live.Subscriber: the publisher's session stops the recording itself.
func (r *Recorder) Notify(live.Event) {}

// CutOff implements live.Subscriber: the hub dropped the recorder (too slow, or closed).
func (r *Recorder) CutOff(reason error) {
	if reason == nil {
		reason = live.ErrClosed
	}
	r.mu.Lock()
	r.cut = reason
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stop ends the recording: Record.Stop is sent at once (before the caller's Unpublish.Success)
// if Record.Start was and no end status yet; what is queued is still written, then the file
// is closed on the Recorder's goroutine (Done). Stop never waits for the disk.
func (r *Recorder) Stop() {
	r.stMu.Lock()
	if r.started && !r.ended {
		r.cfg.Status("status", CodeStop, "Stopped recording "+r.cfg.Stream+".")
	}
	r.ended = true
	r.stMu.Unlock()
	r.mu.Lock()
	if !r.halt {
		r.halt = true
		close(r.stop)
	}
	r.mu.Unlock()
	r.cancel()
	r.release()
}

// Done is closed once the file is closed.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// end sends the end status unless one was sent; it reports whether this call sent it.
func (r *Recorder) end(code, desc string) bool {
	r.stMu.Lock()
	defer r.stMu.Unlock()
	if r.ended {
		return false
	}
	r.ended = true
	level := "status"
	if code == CodeFailed {
		level = "error"
	}
	r.cfg.Status(level, code, desc)
	return true
}

// begin sends Record.Start unless the recording was stopped meanwhile.
func (r *Recorder) begin() bool {
	r.stMu.Lock()
	defer r.stMu.Unlock()
	if r.ended {
		return false
	}
	r.started = true
	r.cfg.Status("status", CodeStart, "Recording "+r.cfg.Stream+".")
	return true
}

func (r *Recorder) run() {
	res := Result{}
	defer func() {
		res.Drops = r.sub.Drops()
		r.sub.Close()
		r.discard()
		if r.cfg.Ended != nil {
			r.cfg.Ended(res)
		}
		r.set.finished(r)
	}()
	<-r.ready
	if r.prev != nil {
		<-r.prev // the path's previous recording closes its file first
	}
	f, w, err := r.open()
	if err != nil {
		if r.end(CodeFailed, "Could not record "+r.cfg.Stream+": "+err.Error()) {
			res.Code = CodeFailed
		}
		res.Err = err
		r.cfg.Log.Warn().Err(err).Str("path", r.cfg.Path).Msg("recording failed to start")
		return
	}
	defer f.Close()
	startSize, startDur := w.Size(), w.Duration()
	if !r.begin() {
		_ = w.Close()
		return
	}
	if r.cfg.Started != nil {
		r.cfg.Started()
	}
	res.Code, res.Err = r.write(w)
	if cerr := w.Close(); cerr != nil && !errors.Is(cerr, flv.ErrClosed) && res.Err == nil {
		res.Err = cerr
		if r.end(CodeFailed, "Recording "+r.cfg.Stream+" failed: "+cerr.Error()) {
			res.Code = CodeFailed
		}
	}
	res.Size, res.Total = w.Size(), w.Duration()
	res.Bytes, res.Duration = res.Size-startSize, res.Total-startDur
	if res.Code == "" {
		res.Code = CodeStop // sent by Stop
	}
}

// open opens the file and the writer as the mode says.
func (r *Recorder) open() (plugin.File, *flv.Writer, error) {
	f, err := r.cfg.Storage.OpenFile(r.ctx, r.cfg.Path)
	if err != nil {
		return nil, nil, err
	}
	w, err := r.writer(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, w, nil
}

func (r *Recorder) writer(f plugin.File) (*flv.Writer, error) {
	if r.cfg.Mode == Overwrite {
		if err := f.Truncate(0); err != nil {
			return nil, err
		}
		return flv.NewWriter(f, r.cfg.Options)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	opts := r.cfg.Options
	if r.cfg.Mode == AppendWithGap && st.Size() > 0 {
		opts.AppendGap = max(time.Since(st.ModTime()), 0)
	}
	return flv.OpenAppend(f, st.Size(), opts)
}

// write takes the queue until Stop, a limit, an error or a cut-off; it returns the end status
// it sent ("" for Stop, whose status Stop sent) and why.
func (r *Recorder) write(w *flv.Writer) (string, error) {
	report := time.NewTicker(r.cfg.ReportEvery)
	defer report.Stop()
	var reported uint64
	for {
		batch, stopped, cut := r.take()
		for i, it := range batch {
			err := w.WriteTag(it.p.TypeID, it.ts, it.p.Payload)
			it.p.Release()
			batch[i] = item{}
			if err == nil {
				continue
			}
			releaseFrom(batch, i+1)
			r.halted()
			if errors.Is(err, flv.ErrLimit) {
				r.cfg.Log.Info().Str("path", r.cfg.Path).Msg("recording limit reached")
				return r.sent(CodeStop, "Recording "+r.cfg.Stream+" reached its limit."), err
			}
			r.cfg.Log.Warn().Err(err).Str("path", r.cfg.Path).Msg("recording failed")
			return r.sent(CodeFailed, "Recording "+r.cfg.Stream+" failed: "+err.Error()), err
		}
		switch {
		case errors.Is(cut, live.ErrTooSlow):
			r.halted()
			return r.sent(CodeFailed, "Recording "+r.cfg.Stream+" stopped: the storage is too slow."), ErrTooSlow
		case cut != nil: // the hub closed (the instance is unloading)
			r.halted()
			return r.sent(CodeStop, "Stopped recording "+r.cfg.Stream+": "+cut.Error()), cut
		case stopped:
			return "", nil
		}
		select {
		case <-r.wake:
		case <-r.stop:
		case <-report.C:
			reported = r.report(reported)
		}
	}
}

func (r *Recorder) sent(code, desc string) string {
	if r.end(code, desc) {
		return code
	}
	return ""
}

// report logs the drops since the last report, if any.
func (r *Recorder) report(last uint64) uint64 {
	n := r.sub.Drops()
	if n > last {
		r.cfg.Log.Warn().Uint64("dropped", n-last).Uint64("total", n).Str("path", r.cfg.Path).
			Msg("recording behind the live stream: skipped to the next keyframe")
	}
	return n
}

// take swaps the queue out.
func (r *Recorder) take() (batch []item, stopped bool, cut error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch, r.q = r.q, r.spare[:0]
	r.spare = batch
	r.bytes = 0
	return batch, r.halt, r.cut
}

// halted refuses every later message (the recording ended by itself).
func (r *Recorder) halted() {
	r.mu.Lock()
	r.halt = true
	r.mu.Unlock()
}

// discard releases whatever is still queued once the goroutine is done with the file.
func (r *Recorder) discard() {
	r.mu.Lock()
	q := r.q
	r.q, r.bytes, r.halt = nil, 0, true
	r.mu.Unlock()
	releaseFrom(q, 0)
}

func releaseFrom(batch []item, i int) {
	for j := i; j < len(batch); j++ {
		batch[j].p.Release()
		batch[j] = item{}
	}
}

// String names the recording in logs.
func (r *Recorder) String() string { return fmt.Sprintf("%s -> %s", r.cfg.Stream, r.cfg.Path) }
