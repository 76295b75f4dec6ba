package record

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Set is the recordings of one server: it keeps two recordings from writing one file at once
// and lets the server wait, at shutdown, for every file to be closed. The zero value is ready.
type Set struct {
	mu     sync.Mutex
	byPath map[string]*Recorder // the latest recorder of each path
	wg     sync.WaitGroup
}

// ErrBusy: the path is being recorded by a running recording.
var ErrBusy = errors.New("record: the file is being recorded by another stream")

// Start subscribes a recorder to cfg.Stream (so it misses nothing published after this
// returns) and returns it; Run lets it open the file, and Stop alone ends it (one of them must
// be called). A path whose previous recording was stopped but is still closing its file is
// opened once that is done; one still recording another stream is ErrBusy, one still
// recording the same stream (its publisher was just replaced) is stopped and taken over.
func (s *Set) Start(cfg Config) (*Recorder, error) {
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 8 << 20
	}
	if cfg.ReportEvery <= 0 {
		cfg.ReportEvery = 10 * time.Second
	}
	r := &Recorder{cfg: cfg, set: s, done: make(chan struct{}), wake: make(chan struct{}, 1), stop: make(chan struct{}), ready: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.byPath[cfg.Path]; prev != nil {
		switch {
		case prev.cfg.Hub == cfg.Hub && prev.cfg.Stream == cfg.Stream:
			// the stream's publisher was replaced (takeover) and its session has not yet
			// stopped its recording: this one takes the file over
			prev.Stop()
		case !prev.stopping():
			r.cancel()
			return nil, ErrBusy
		}
		r.prev = prev.done
	}
	sub, err := cfg.Hub.Subscribe(cfg.Stream, r)
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.sub = sub
	if s.byPath == nil {
		s.byPath = make(map[string]*Recorder)
	}
	s.byPath[cfg.Path] = r
	s.wg.Add(1)
	go r.run()
	return r, nil
}

// Run starts the recording's goroutine: it opens the file and sends Record.Start (after
// whatever the caller sent before, Publish.Start).
func (r *Recorder) Run() { r.release() }

// stopping reports whether the recorder is over or on its way out.
func (r *Recorder) stopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halt || r.cut != nil
}

// finished forgets r once its file is closed.
func (s *Set) finished(r *Recorder) {
	s.mu.Lock()
	if s.byPath[r.cfg.Path] == r {
		delete(s.byPath, r.cfg.Path)
	}
	s.mu.Unlock()
	close(r.done)
	r.cancel()
	s.wg.Done()
}

// Wait waits, at most bound, for every recording to close its file; false if some did not.
// The server calls it after its sessions have stopped their recordings.
func (s *Set) Wait(bound time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
