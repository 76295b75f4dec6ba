package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

const benchApp = `
application.onConnect = function (client) { return true; };
Client.prototype.echo = function (x) { return x; };
`

// rpcBench measures NetConnection.call round trips through a trivial JS method with many
// concurrent clients, and connects per second through an onConnect that accepts.
func rpcBench(dir string, clients int, d time.Duration) error {
	appDir := filepath.Join(dir, "apps", "rpc")
	os.MkdirAll(appDir, 0o755)
	if err := os.WriteFile(filepath.Join(appDir, "main.js"), []byte(benchApp), 0o644); err != nil {
		return err
	}
	srv, addr, err := startOrigin(dir)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }() // SIGINT: the origin writes its profile
	if err := waitListening(addr); err != nil {
		return err
	}
	url := "rtmp://" + addr + "/rpc"
	if err := measureCalls(srv, url, clients, d); err != nil {
		return err
	}
	var ours []connectResult
	for _, w := range []int{8, 32} {
		r, err := measureConnects(srv, addr, "rpc", w, d/2, "connect    ")
		if err != nil {
			return err
		}
		ours = append(ours, r)
	}
	return nginxConnects(dir, ours, d/2)
}

// connectResult is one connect run's rate and the server's CPU per connect.
type connectResult struct {
	workers    int
	perSecond  float64
	cpuPerConn time.Duration
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
	for _, o := range ours {
		r, err := measureConnects(srv, addr, "live", o.workers, d, "connect ngx")
		if err != nil {
			return err
		}
		fmt.Printf("connects per server CPU-second with %d workers: fmsgo %.0f, nginx-rtmp %.0f, ratio %.2f; connects/s ratio %.2f\n",
			o.workers, 1/o.cpuPerConn.Seconds(), 1/r.cpuPerConn.Seconds(), r.cpuPerConn.Seconds()/o.cpuPerConn.Seconds(), o.perSecond/r.perSecond)
	}
	return nil
}

func measureCalls(srv *exec.Cmd, url string, n int, d time.Duration) error {
	ctx := context.Background()
	cs := make([]*rtmpclient.Client, n)
	for i := range cs {
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		defer c.Close()
		cs[i] = c
	}
	var calls atomic.Int64
	var lat latencies
	deadline := time.Now().Add(d)
	c0, t0 := cpuSeconds(srv.Process.Pid), time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func(c *rtmpclient.Client) {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				s := time.Now()
				if _, err := c.Call(ctx, "echo", 1.0); err != nil {
					return
				}
				mine = append(mine, time.Since(s))
				calls.Add(1)
			}
			lat.add(mine)
		}(c)
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := cpuSeconds(srv.Process.Pid) - c0
	p50, p99 := lat.percentiles()
	fmt.Printf("rpc         %d clients: %.0f calls/s through a JS method, p50 %.2f ms, p99 %.2f ms, origin cpu %.0f%% of a core (client in the bench process)\n",
		n, float64(calls.Load())/el.Seconds(), ms(p50), ms(p99), 100*cpu/el.Seconds())
	return nil
}

// measureConnects opens connections with workers raw clients for d; label names the server.
func measureConnects(srv *exec.Cmd, addr, app string, workers int, d time.Duration, label string) (connectResult, error) {
	rc, err := newRawConnector(addr, app, "rtmp://"+addr+"/"+app)
	if err != nil {
		return connectResult{}, err
	}
	var n, failed atomic.Int64
	var lat latencies
	deadline := time.Now().Add(d)
	c0, t0 := cpuSeconds(srv.Process.Pid), time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := newConnScratch()
			var mine []time.Duration
			for time.Now().Before(deadline) {
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
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := cpuSeconds(srv.Process.Pid) - c0
	p50, p99 := lat.percentiles()
	r := connectResult{workers: workers, perSecond: float64(n.Load()) / el.Seconds(),
		cpuPerConn: time.Duration(cpu * 1e9 / float64(max(n.Load(), 1)))}
	fmt.Printf("%s %d workers: %.0f connects/s (dial+handshake+connect+answer, then close), p50 %.2f ms, p99 %.2f ms, server cpu %.0f%% of a core (%.0f µs per connect), %d failed (raw client in the bench process)\n",
		label, workers, r.perSecond, ms(p50), ms(p99), 100*cpu/el.Seconds(), float64(r.cpuPerConn)/1e3, failed.Load())
	return r, nil
}

type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 time.Duration) {
	if len(l.all) == 0 {
		return 0, 0
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i] < l.all[j] })
	return l.all[len(l.all)/2], l.all[len(l.all)*99/100]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
