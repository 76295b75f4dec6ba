package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connectResult is one connect run's rate, latency and the server's CPU per connect.
type connectResult struct {
	workers    int
	perSecond  float64
	p50        time.Duration
	cpuPerConn time.Duration
}

// connectBench measures connects per second through an onConnect that accepts, with each count
// of connects in flight of o.connect, against one origin (profiled), then against nginx-rtmp.
func connectBench(dir string, o *rpcOptions) error {
	var workers []int
	for _, f := range strings.Split(o.connect, ",") {
		if n, _ := strconv.Atoi(strings.TrimSpace(f)); n > 0 {
			workers = append(workers, n)
		}
	}
	d := o.d / 2
	var ours []connectResult
	label := fmt.Sprintf("connect (%s in flight)", o.connect)
	err := withOrigin(dir, o.profilePath(dir, "connect"), label, func(pid int, addr string) error {
		for _, w := range workers {
			r, err := measureConnects(pid, addr, "rpc", w, d, "connect    ")
			if err != nil {
				return err
			}
			ours = append(ours, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := nginxConnects(dir, ours, d); err != nil {
		return err
	}
	for _, r := range ours {
		if r.workers == 8 {
			fmt.Printf("connect p50 at 8 in flight: %.2f ms (goal < 2 ms)\n", ms(r.p50))
		}
	}
	if o.webhook {
		return webhookConnectBench(dir, d/2)
	}
	return nil
}

// nginxConnects runs the connect bench against Debian's nginx-rtmp when installed (no app
// logic at all), for a ratio of connects per server CPU-second that does not depend on how fast
// this machine is today.
func nginxConnects(dir string, ours []connectResult, d time.Duration) error {
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_rtmp_module.so"); err != nil {
		return nil
	}
	srv, addr, err := startNginx(dir)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return err
	}
	fmt.Println("connect ngx: nginx-rtmp writes its connect answer in four small writes, without TCP_NODELAY: each connect waits ~40 ms on the client's delayed ACK, so its connects/s are latency-bound here; its CPU per connect is the figure to compare")
	for _, o := range ours {
		r, err := measureConnects(srv.Process.Pid, addr, "live", o.workers, d, "connect ngx")
		if err != nil {
			return err
		}
		fmt.Printf("connect server cpu per connect with %d in flight: fmsgo %.0f µs, nginx-rtmp %.0f µs, fmsgo/nginx-rtmp %.2f (goal <= 1.00); connects/s ratio %.2f\n",
			o.workers, float64(o.cpuPerConn)/1e3, float64(r.cpuPerConn)/1e3, o.cpuPerConn.Seconds()/max(r.cpuPerConn.Seconds(), 1e-12), o.perSecond/max(r.perSecond, 1e-9))
	}
	return nil
}

// measureConnects opens connections with workers raw clients for d against the server pid at
// addr; label names the server.
func measureConnects(pid int, addr, app string, workers int, d time.Duration, label string) (connectResult, error) {
	return measurePacedConnects(pid, addr, app, workers, 0, d, label)
}

// measurePacedConnects is measureConnects at rate connects a second in all (0: as fast as the
// workers go), so that two servers are compared at the same load rather than each at its own
// saturation.
func measurePacedConnects(pid int, addr, app string, workers int, rate float64, d time.Duration, label string) (connectResult, error) {
	rc, err := newRawConnector(addr, app, "rtmp://"+addr+"/"+app)
	if err != nil {
		return connectResult{}, err
	}
	var n, failed atomic.Int64
	var lat latencies
	deadline := time.Now().Add(d)
	var tickets chan struct{}
	if rate > 0 {
		tickets = make(chan struct{}, workers)
		go pace(tickets, rate, deadline)
	}
	c0, t0 := cpuTimes(pid), time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			scratch := newConnScratch()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				if tickets != nil {
					if _, ok := <-tickets; !ok {
						break
					}
				}
				s := time.Now()
				nc, err := rc.connect(scratch)
				if err != nil {
					failed.Add(1)
					continue
				}
				mine = append(mine, time.Since(s))
				n.Add(1)
				nc.Close()
			}
			lat.add(mine)
		})
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := cpuTimes(pid).sub(c0)
	p50, p99 := lat.percentiles()
	r := connectResult{workers: workers, perSecond: float64(n.Load()) / el.Seconds(), p50: p50,
		cpuPerConn: time.Duration(cpu.total() * 1e9 / float64(max(n.Load(), 1)))}
	fmt.Printf("%s %d in flight: %.0f connects/s (dial+handshake+connect+answer, then close), p50 %.2f ms, p99 %.2f ms, server cpu %.0f%% of a core (%.0f µs per connect%s, sys %.0f%% of it), %d failed (raw client in the bench process)\n",
		label, workers, r.perSecond, ms(p50), ms(p99), 100*cpu.total()/el.Seconds(), float64(r.cpuPerConn)/1e3, tickError(cpu), cpu.sysShare(), failed.Load())
	return r, nil
}

// pace hands out rate tickets a second until deadline, then closes tickets.
func pace(tickets chan<- struct{}, rate float64, deadline time.Time) {
	defer close(tickets)
	start := time.Now()
	for sent := 0; time.Now().Before(deadline); {
		due := int(time.Since(start).Seconds() * rate)
		for ; sent < due; sent++ {
			select {
			case tickets <- struct{}{}:
			default: // the workers are behind: the ticket is dropped, not queued
			}
		}
		time.Sleep(time.Millisecond)
	}
}
