package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// eventBus fans events out to the sinks: one bounded queue and one goroutine per sink, so that
// a slow sink loses its own events (counted) and never delays the server or another sink.
type eventBus struct {
	log   zerolog.Logger
	sinks []*sinkQueue
	seq   atomic.Uint64
	wg    sync.WaitGroup
	stopC chan struct{}
	once  sync.Once
}

type sinkModule struct {
	id     string
	sink   EventSink
	queue  int
	linger time.Duration
}

type sinkQueue struct {
	id string
	// wants says which kinds the sink takes (all when it is no EventSelector)
	wants   [EvAppUnload + 1]bool
	sink    EventSink
	linger  time.Duration
	q       chan *Event
	dropped atomic.Uint64
	handled atomic.Uint64
}

func newEventBus(mods []sinkModule, log zerolog.Logger) *eventBus {
	b := &eventBus{log: log, stopC: make(chan struct{})}
	for _, m := range mods {
		s := &sinkQueue{id: m.id, sink: m.sink, linger: m.linger, q: make(chan *Event, m.queue)}
		sel, selects := m.sink.(EventSelector)
		for k := range s.wants {
			s.wants[k] = !selects || sel.WantsEvent(EventKind(k))
		}
		b.sinks = append(b.sinks, s)
	}
	return b
}

func (b *eventBus) start(ctx context.Context) {
	for _, s := range b.sinks {
		b.wg.Add(1)
		go b.deliver(ctx, s)
	}
	if len(b.sinks) > 0 {
		b.wg.Add(1)
		go b.reportDrops(ctx)
	}
}

// DefaultEventLinger is how long a sink's goroutine lets events gather after it woke for one,
// so that a busy server wakes each sink, and lets a buffering sink write, at most about a
// hundred times a second instead of once per event (each wake-up or write costs more than
// handling a small event). The first event after a quiet spell is handled at once; a buffering
// sink writes it at the end of the linger. A sink may ask for longer (EventLingerer), up to
// MaxEventLinger.
const (
	DefaultEventLinger = 10 * time.Millisecond
	MaxEventLinger     = time.Second
)

// deliver hands a sink its events in order until stop, then what is still queued.
func (b *eventBus) deliver(ctx context.Context, s *sinkQueue) {
	defer b.wg.Done()
	linger := time.NewTimer(s.linger)
	linger.Stop()
	for {
		select {
		case ev := <-s.q:
			b.handle(ctx, s, ev)
		case <-b.stopC:
			b.drain(ctx, s)
			return
		}
		linger.Reset(s.linger)
		select {
		case <-linger.C:
		case <-b.stopC:
			linger.Stop()
		}
		b.drain(ctx, s)
	}
}

// drain handles every queued event, then lets a buffering sink write.
func (b *eventBus) drain(ctx context.Context, s *sinkQueue) {
	for {
		select {
		case ev := <-s.q:
			b.handle(ctx, s, ev)
		default:
			if f, ok := s.sink.(EventFlusher); ok {
				f.FlushEvents(ctx)
			}
			return
		}
	}
}

func (b *eventBus) handle(ctx context.Context, s *sinkQueue, ev *Event) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Str("module", s.id).Interface("panic", r).Msg("events module panicked on an event")
		}
	}()
	s.sink.HandleEvent(ctx, ev)
	s.handled.Add(1)
}

// reportDrops logs each sink's dropped events as a count every 10 s, not one line per drop.
func (b *eventBus) reportDrops(ctx context.Context) {
	defer b.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	last := make([]uint64, len(b.sinks))
	for {
		select {
		case <-t.C:
		case <-b.stopC:
			return
		case <-ctx.Done():
			return
		}
		for i, s := range b.sinks {
			if d := s.dropped.Load(); d != last[i] {
				b.log.Warn().Str("module", s.id).Uint64("dropped", d-last[i]).Uint64("dropped_total", d).Msg("events dropped: the module's queue was full")
				last[i] = d
			}
		}
	}
}

// stop ends delivery after the queued events, waiting at most until ctx ends.
func (b *eventBus) stop(ctx context.Context) {
	b.once.Do(func() { close(b.stopC) })
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.log.Warn().Msg("events modules still delivering at shutdown: left behind")
	}
}

// Emit queues ev for every sink without ever blocking (any goroutine): a full queue drops it
// and counts. ev's Time and Seq are set here.
func (h *Host) Emit(ev Event) {
	if h == nil || len(h.sinks.sinks) == 0 {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Seq = h.sinks.seq.Add(1)
	e := &ev // shared by the sinks, which only read it
	for _, s := range h.sinks.sinks {
		if int(ev.Kind) < len(s.wants) && !s.wants[ev.Kind] {
			continue
		}
		select {
		case s.q <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// HasEvents reports whether any events module is selected (callers skip building events
// otherwise).
func (h *Host) HasEvents() bool { return h != nil && len(h.sinks.sinks) > 0 }

// EventStats is one events module's counters.
type EventStats struct {
	ID               string
	Handled, Dropped uint64
	Queued           int
}

// EventStats returns each events module's counters (for metrics and tests).
func (h *Host) EventStats() []EventStats {
	if h == nil {
		return nil
	}
	var out []EventStats
	for _, s := range h.sinks.sinks {
		out = append(out, EventStats{ID: s.id, Handled: s.handled.Load(), Dropped: s.dropped.Load(), Queued: len(s.q)})
	}
	return out
}
