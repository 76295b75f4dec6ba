// Command loadtest is fmsgo's RTMP load generator: publishers send a synthetic stream (about
// 2 Mb/s of video with a keyframe every second, plus audio) or an FLV file in a loop, and players
// read it with a raw chunk reader that decodes nothing but commands, so that the generator costs
// far less CPU than the server it measures. It reports the time from dial to the first video
// keyframe (p50/p99), bytes, messages and disconnects, as text or -json.
//
//	go run ./samples/loadtest -url rtmp://127.0.0.1:1935/live -publishers 1 -players 500 \
//	    -ramp 10s -duration 60s -source-addrs 127.0.0.2,127.0.0.3
//
// The per-process open-file limit (20,000 here) bounds players per process; run several
// processes with different -source-addrs for more.
//
// With -idle N it instead opens N connections that only connect and then idle (answering pings
// and acks) until -duration ends or a signal comes, printing a JSON line when all are set up and
// another at the end: the memory-per-idle-client bench of samples/bench uses it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg, asJSON, idle, err := parseAllFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	if cfg.CPUProfile != "" {
		stopProfile, err := startProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(2)
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if idle > 0 {
		if err := RunIdle(ctx, cfg, idle, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		return
	}
	sum, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
		return
	}
	sum.print(os.Stdout)
}

// parseFlags parses a load run's flags (the idle mode's count is dropped).
func parseFlags(args []string) (Config, bool, error) {
	cfg, asJSON, _, err := parseAllFlags(args)
	return cfg, asJSON, err
}

// parseAllFlags parses the flags: the run's Config, -json, and -idle's connection count.
func parseAllFlags(args []string) (Config, bool, int, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	cfg := Config{}
	var bitrate, sources string
	var asJSON bool
	var idle int
	fs.StringVar(&cfg.URL, "url", "rtmp://127.0.0.1:1935/live", "application URL rtmp://host[:port]/app[/instance]")
	fs.StringVar(&cfg.Stream, "stream", "load", "stream name; with publishers, the prefix of NAME0, NAME1, ...")
	fs.IntVar(&cfg.Players, "players", 10, "playing connections")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publishing connections (0: play an existing -stream)")
	fs.DurationVar(&cfg.Ramp, "ramp", 5*time.Second, "spread player starts over this")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "whole run, ramp included")
	fs.StringVar(&bitrate, "bitrate", "2M", "synthetic video bit rate (bits/s, k and M suffixes)")
	fs.StringVar(&cfg.FLV, "flv", "", "publish this FLV file in a loop instead of the synthetic stream")
	fs.StringVar(&sources, "source-addrs", "", "comma-separated local IPs to spread connections over")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "dial, handshake and connect timeout")
	fs.IntVar(&cfg.ReadBuffer, "read-buffer", 64<<10, "player read buffer bytes")
	fs.DurationVar(&cfg.Batch, "batch", 50*time.Millisecond, "players pause this long after a short read once measured (0: never)")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	fs.IntVar(&idle, "idle", 0, "idle mode: open this many connections that only connect, then idle (JSON lines on stdout)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write the generator's own CPU profile here")
	if err := fs.Parse(args); err != nil {
		return cfg, false, 0, err
	}
	var err error
	if cfg.Bitrate, err = parseBitrate(bitrate); err != nil {
		return cfg, false, 0, err
	}
	for _, s := range strings.Split(sources, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.SourceAddrs = append(cfg.SourceAddrs, s)
		}
	}
	return cfg, asJSON, idle, cfg.validate()
}

// startProfile profiles this process's CPU into path until the returned function runs.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// parseBitrate reads "2000000", "500k" or "2M".
func parseBitrate(s string) (int, error) {
	mul := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mul, s = 1_000_000, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad bitrate %q", s)
	}
	return int(f * float64(mul)), nil
}
