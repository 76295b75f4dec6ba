package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// legit is the well-behaved client of the run: from its own address it connects afresh every
// 100 ms (timing the connect) and, on one kept connection, calls echo every 10 ms (timing the
// round trip).
type legit struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	connects []time.Duration
	calls    []time.Duration
	failures map[string]int
	start    time.Time
}

func startLegit(ctx context.Context, addr, from string) *legit {
	l := &legit{failures: map[string]int{}, start: time.Now()}
	local := &net.TCPAddr{IP: net.ParseIP(from)}
	url := "rtmp://" + addr + "/probe"
	l.wg.Add(2)
	go func() { defer l.wg.Done(); l.connectLoop(ctx, url, local) }()
	go func() { defer l.wg.Done(); l.callLoop(ctx, url, local) }()
	return l
}

func (l *legit) connectLoop(ctx context.Context, url string, local net.Addr) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		start := time.Now()
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{LocalAddr: local, Timeout: 5 * time.Second})
		if err != nil {
			l.fail(ctx, "connect", err)
		} else {
			l.note(&l.connects, time.Since(start))
			c.Close()
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

func (l *legit) callLoop(ctx context.Context, url string, local net.Addr) {
	for ctx.Err() == nil {
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{LocalAddr: local, Timeout: 5 * time.Second})
		if err != nil {
			l.fail(ctx, "call connect", err)
			pause(ctx)
			continue
		}
		l.calling(ctx, c)
		c.Close()
	}
}

func (l *legit) calling(ctx context.Context, c *rtmpclient.Client) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Call(cctx, "echo", "hello")
		cancel()
		if err != nil {
			l.fail(ctx, "call", err)
			return
		}
		l.note(&l.calls, time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *legit) note(list *[]time.Duration, d time.Duration) {
	l.mu.Lock()
	*list = append(*list, d)
	l.mu.Unlock()
}

func (l *legit) fail(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return // the run ended under it
	}
	l.mu.Lock()
	// the second of the run it began in tells a failure at the flood's first burst from one later
	at := time.Since(l.start).Truncate(time.Second)
	l.failures[fmt.Sprintf("%s (in second %d): %v", what, int(at/time.Second), err)]++
	l.mu.Unlock()
}

func (l *legit) wait() *legit {
	l.wg.Wait()
	return l
}

// legitReport is what a -legit-only process prints: its latencies in milliseconds, sorted.
type legitReport struct {
	ConnectMs []float64      `json:"connect_ms"`
	CallMs    []float64      `json:"call_ms"`
	Failures  map[string]int `json:"failures"`
}

// runLegit is the -legit-only process: the legitimate client for o.duration, then its report.
func runLegit(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	l := startLegit(ctx, o.target, o.legitAddr).wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := legitReport{ConnectMs: millis(l.connects), CallMs: millis(l.calls), Failures: l.failures}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func millis(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v) / float64(time.Millisecond)
	}
	sort.Float64s(out)
	return out
}

// startLegitProcess runs this program again as the legitimate client; the returned function
// waits for it and gives its figures as one line.
func startLegitProcess(target string, o options) (func() (string, error), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-legit-only", "-target", target, "-legit-addr", o.legitAddr, "-duration", o.duration.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() (string, error) {
		if err := cmd.Wait(); err != nil {
			return "", fmt.Errorf("legitimate client: %w", err)
		}
		var rep legitReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return "", fmt.Errorf("legitimate client's report: %w", err)
		}
		return rep.String(), nil
	}, nil
}

func (r legitReport) String() string {
	s := fmt.Sprintf("%d connects p50 %.1f ms p99 %.1f ms; %d calls p50 %.1f ms p99 %.1f ms", len(r.ConnectMs),
		pctMs(r.ConnectMs, 50), pctMs(r.ConnectMs, 99), len(r.CallMs), pctMs(r.CallMs, 50), pctMs(r.CallMs, 99))
	if len(r.Failures) == 0 {
		return s + "; no failures"
	}
	for f, n := range r.Failures {
		s += fmt.Sprintf("; %d× %s", n, f)
	}
	return s
}

func pctMs(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
