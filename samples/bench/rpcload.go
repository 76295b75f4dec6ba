package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// callLoad is one RPC run of the bench's load tool: clients (raw callers, or with full
// core/rtmpclient's; in this process) spread round robin over urls, each calling method with args and waiting for the
// answer, for d. At rate 0 each client calls again as soon as it is answered (saturation); at a
// rate, each client has its own schedule of rate/clients calls a second, the clients' phases
// spread evenly over one interval, and a client that fell behind its schedule calls at once.
type callLoad struct {
	urls    []string
	clients int
	method  string
	args    []any
	rate    float64 // calls/s over all clients; 0: saturation
	d       time.Duration
	pids    []int // server processes whose CPU is read over the run
	full    bool  // core/rtmpclient's clients instead of the raw callers
}

// callStats is one RPC run: the call rate, latencies, and the CPU of the processes involved.
type callStats struct {
	calls    int64
	el       float64 // seconds
	rate     float64 // calls/s
	p50, p99 float64 // ms, from each call's send to its answer
	lateP99  float64 // ms, from each call's scheduled time to its answer (paced runs)
	servers  []cpuUse
	benchCPU float64 // % of a core: this process, the clients
}

// pct is server i's CPU over the run in % of a core.
func (s callStats) pct(i int) float64 { return 100 * s.servers[i].total() / max(s.el, 1e-9) }

// perCall is server i's CPU per answered call in µs.
func (s callStats) perCall(i int) float64 {
	return 1e6 * s.servers[i].total() / float64(max(s.calls, 1))
}

// run connects the clients, then calls for d and returns the figures.
func (l callLoad) run() (callStats, error) {
	ctx := context.Background()
	cs := make([]caller, l.clients)
	connDeadline := time.Now().Add(l.d + time.Minute) // dials included: a stuck server ends the run
	for i := range cs {
		c, err := dialCaller(ctx, l.urls[i%len(l.urls)], l.method, l.args, l.full, connDeadline)
		if err != nil {
			return callStats{}, fmt.Errorf("dial %s: %w", l.urls[i%len(l.urls)], err)
		}
		defer c.Close()
		cs[i] = c
	}
	var calls, failed atomic.Int64
	var lat, late latencies
	self := os.Getpid()
	before, b0 := l.cpu(), cpuSeconds(self)
	t0 := time.Now()
	deadline := t0.Add(l.d)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			mine, mineLate, err := l.client(ctx, c, l.first(t0, i), deadline)
			calls.Add(int64(len(mine)))
			if err != nil {
				failed.Add(1)
			}
			lat.add(mine)
			late.add(mineLate)
		})
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	after := l.cpu()
	if n := failed.Load(); n > 0 {
		return callStats{}, fmt.Errorf("%d of %d clients failed a call", n, l.clients)
	}
	s := callStats{calls: calls.Load(), el: el, rate: float64(calls.Load()) / el,
		benchCPU: 100 * (cpuSeconds(self) - b0) / el}
	for i := range after {
		s.servers = append(s.servers, after[i].sub(before[i]))
	}
	p50, p99 := lat.percentiles()
	_, lp99 := late.percentiles()
	s.p50, s.p99, s.lateP99 = ms(p50), ms(p99), ms(lp99)
	return s, nil
}

func (l callLoad) cpu() []cpuUse {
	u := make([]cpuUse, len(l.pids))
	for i, pid := range l.pids {
		u[i] = cpuTimes(pid)
	}
	return u
}

// interval is each client's time between scheduled calls (0: saturation).
func (l callLoad) interval() time.Duration {
	if l.rate <= 0 {
		return 0
	}
	return time.Duration(float64(l.clients) / l.rate * 1e9)
}

// first is client i's first scheduled call: the clients' phases spread over one interval.
func (l callLoad) first(t0 time.Time, i int) time.Time {
	return t0.Add(l.interval() * time.Duration(i) / time.Duration(max(l.clients, 1)))
}

// client calls until deadline and returns each answered call's latency from its send and, when
// paced, from its scheduled time.
func (l callLoad) client(ctx context.Context, c caller, due, deadline time.Time) (sent, scheduled []time.Duration, err error) {
	iv := l.interval()
	for {
		if iv > 0 {
			time.Sleep(time.Until(due))
		}
		s := time.Now()
		if !s.Before(deadline) {
			return sent, scheduled, nil
		}
		if err := c.call(ctx); err != nil {
			return sent, scheduled, err
		}
		done := time.Now()
		sent = append(sent, done.Sub(s))
		if iv > 0 {
			scheduled = append(scheduled, done.Sub(due))
			due = due.Add(iv)
		}
	}
}
