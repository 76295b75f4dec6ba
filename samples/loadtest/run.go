package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// Config is one load run.
type Config struct {
	URL         string        // rtmp://host[:port]/app[/instance]
	Stream      string        // stream name (prefix, with publishers: NAME0, NAME1, ...)
	Players     int           // playing connections
	Publishers  int           // publishing connections; 0 = play an existing stream named Stream
	Ramp        time.Duration // players start evenly spread over this
	Duration    time.Duration // the whole run, ramp included
	Bitrate     int           // synthetic video bits per second
	FLV         string        // publish this file in a loop instead of the synthetic stream
	SourceAddrs []string      // local IPs to spread connections over (127.0.0.2, ...)
	Timeout     time.Duration // dial, handshake and connect
	ReadBuffer  int           // player read buffer
	Batch       time.Duration // after its first keyframe, a player pauses this long after a short read
	CPUProfile  string        // main only: profile file
}

func (c *Config) validate() error {
	switch {
	case c.Players < 0 || c.Publishers < 0:
		return errors.New("negative counts")
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.Bitrate < 8000:
		return errors.New("bitrate below 8 kb/s")
	case c.ReadBuffer < 4096:
		return errors.New("read buffer below 4096 bytes")
	case c.Batch < 0 || c.Batch > time.Second:
		return errors.New("batch interval outside 0..1s")
	}
	_, err := rtmpclient.ParseURL(c.URL)
	return err
}

// streamName is what player or publisher i uses: round robin over the publishers' streams. A
// ?query of -stream (a token) stays at the end of every name.
func (c *Config) streamName(i int) string {
	if c.Publishers == 0 {
		return c.Stream
	}
	name, query, hasQuery := strings.Cut(c.Stream, "?")
	name = fmt.Sprintf("%s%d", name, i%c.Publishers)
	if hasQuery {
		name += "?" + query
	}
	return name
}

// localAddr spreads connection i over the source addresses.
func (c *Config) localAddr(i int) (net.Addr, error) {
	if len(c.SourceAddrs) == 0 {
		return nil, nil
	}
	s := c.SourceAddrs[i%len(c.SourceAddrs)]
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("bad source address %q", s)
	}
	return &net.TCPAddr{IP: ip}, nil
}

// Run publishes, ramps players up, runs until Duration (or ctx) ends and returns the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	target, _ := rtmpclient.ParseURL(cfg.URL)
	cpu0 := cpuTime()
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	pubs, err := startPublishers(ctx, &cfg)
	if err != nil {
		cancel()
		pubs.wait()
		return nil, err
	}
	players := startPlayers(ctx, &cfg, target)
	sum := newSummary(&cfg)
	for _, r := range pubs.wait() {
		sum.addPublisher(r)
	}
	for _, r := range players.wait() {
		sum.addPlayer(r)
	}
	sum.finish(time.Since(started), cpuTime()-cpu0)
	return sum, nil
}

// group collects the results of goroutines.
type group[T any] struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []T
}

func (g *group[T]) goRun(fn func() T) {
	g.wg.Go(func() {
		r := fn()
		g.mu.Lock()
		g.results = append(g.results, r)
		g.mu.Unlock()
	})
}

func (g *group[T]) wait() []T {
	g.wg.Wait()
	return g.results
}

func startPublishers(ctx context.Context, cfg *Config) (*group[publisherResult], error) {
	g := &group[publisherResult]{}
	var base *flvSource
	if cfg.FLV != "" {
		var err error
		if base, err = loadFLV(cfg.FLV); err != nil {
			return g, err
		}
	}
	for i := range cfg.Publishers {
		local, err := cfg.localAddr(i)
		if err != nil {
			return g, err
		}
		var src mediaSource = newSynth(cfg.Bitrate)
		if base != nil {
			src = &flvSource{hdrs: base.hdrs, frames: base.frames}
		}
		streamFn, err := startPublisher(ctx, cfg, cfg.streamName(i), src, local)
		if err != nil {
			return g, err
		}
		g.goRun(streamFn)
	}
	return g, nil
}

// startPlayers starts player i at Ramp*i/Players.
func startPlayers(ctx context.Context, cfg *Config, t rtmpclient.Target) *group[playerResult] {
	g := &group[playerResult]{}
	start := time.Now()
	for i := range cfg.Players {
		local, err := cfg.localAddr(i)
		if err != nil {
			g.goRun(func() playerResult { return playerResult{err: err} })
			continue
		}
		at := start.Add(cfg.Ramp * time.Duration(i) / time.Duration(max(cfg.Players, 1)))
		if !waitUntil(ctx, at) {
			break
		}
		name := cfg.streamName(i)
		g.goRun(func() playerResult { return runPlayer(ctx, cfg, t, name, local) })
	}
	return g
}

func waitUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
