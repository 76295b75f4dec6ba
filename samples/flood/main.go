// Command flood is the abuse run of `make bench`: it starts bin/origin on loopback and, from one
// address, floods it the ways a hostile client would (connect attempts at a high rate, half-open
// handshakes, new app-instance names, handshakes followed by partial messages), while a
// legitimate client on another 127.0.0.x address keeps connecting and calling. It prints the
// origin's peak resident memory, the legitimate client's latencies and failures, and how long the
// origin takes to release the flood's sockets and memory after it stops. The figures are the
// issue's acceptance for abuse resistance; nothing here asserts them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// options are the flood's shape; the defaults are the acceptance figures of the security issue.
type options struct {
	originBin   string
	originArgs  string
	floodAddr   string
	legitAddr   string
	duration    time.Duration
	connectRate int
	halfOpen    int
	instances   int
	partial     int
	release     time.Duration
	// legitOnly makes this process the legitimate client of a run against target (the flood
	// starts it as a separate process, so that the attack's goroutines do not delay it).
	legitOnly bool
	target    string
}

func main() {
	var o options
	flag.StringVar(&o.originBin, "origin", "", "origin binary (default: build ./origin/cmd/origin)")
	flag.StringVar(&o.originArgs, "origin-args", "", "more flags for the origin, e.g. \"-cpuprofile /tmp/origin.prof\"")
	flag.StringVar(&o.floodAddr, "flood-addr", "127.0.0.1", "source address of the flood")
	flag.StringVar(&o.legitAddr, "legit-addr", "127.0.0.2", "source address of the legitimate client")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the flood")
	flag.IntVar(&o.connectRate, "connect-rate", 5000, "connect attempts per second")
	flag.IntVar(&o.halfOpen, "half-open", 2000, "sockets held mid-handshake")
	flag.IntVar(&o.instances, "instances", 1000, "new app-instance names to connect to")
	flag.IntVar(&o.partial, "partial", 1000, "sockets that hand-shake, then announce a large message and send part of it")
	flag.DurationVar(&o.release, "release", 15*time.Second, "how long to watch the origin release the flood after it stops")
	flag.BoolVar(&o.legitOnly, "legit-only", false, "be only the legitimate client, against -target, for -duration, and print its figures as JSON")
	flag.StringVar(&o.target, "target", "", "with -legit-only: the origin's RTMP address")
	flag.Parse()
	if o.legitOnly {
		if err := runLegit(o); err != nil {
			fmt.Fprintln(os.Stderr, "flood -legit-only:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	srv, err := startOrigin(o.originBin, strings.Fields(o.originArgs))
	if err != nil {
		return err
	}
	defer srv.stop()
	base := srv.sample()
	fmt.Printf("origin pid %d on %s: at rest RSS %.1f MiB, %d fds\n", srv.pid(), srv.rtmp, mib(base.rss), base.fds)

	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	peak := srv.watchPeak(ctx)
	legit, err := startLegitProcess(srv.rtmp, o)
	if err != nil {
		return err
	}
	stats := flood(ctx, srv.rtmp, o)
	<-ctx.Done()
	stats.wait()
	lr, err := legit()
	if err != nil {
		return err
	}
	p := peak()

	fmt.Printf("flood from %s for %s: %s\n", o.floodAddr, o.duration, stats.summary())
	fmt.Printf("origin peak RSS %.1f MiB (goal < 256), peak fds %d\n", mib(p.rss), p.fds)
	fmt.Printf("legitimate client (its own process) from %s: %s\n", o.legitAddr, lr)
	rel := srv.awaitRelease(base, o.release)
	fmt.Printf("after the flood: %s\n", rel)
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
