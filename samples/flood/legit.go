package main

import (
	"context"
	"fmt"
	"net"
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
}

func startLegit(ctx context.Context, addr, from string) *legit {
	l := &legit{failures: map[string]int{}}
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
	l.failures[what+": "+err.Error()]++
	l.mu.Unlock()
}

func (l *legit) wait() *legit {
	l.wg.Wait()
	return l
}

func (l *legit) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("%d connects p50 %s p99 %s; %d calls p50 %s p99 %s", len(l.connects),
		pct(l.connects, 50), pct(l.connects, 99), len(l.calls), pct(l.calls, 50), pct(l.calls, 99))
	if len(l.failures) == 0 {
		return s + "; no failures"
	}
	for f, n := range l.failures {
		s += fmt.Sprintf("; %d× %s", n, f)
	}
	return s
}

func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond).String()
}
