package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// callStats is one RPC run: the call rate, latencies, and the CPU of the processes involved.
type callStats struct {
	rate, p50, p99               float64 // calls/s, ms
	originCPU, edgeCPU, benchCPU float64 // % of a core over the run (bench: this process, the clients)
}

// edgeRPC runs the RPC bench (the same JS echo method and client count as rpcBench) against one
// origin twice: directly, then through an edge, and prints both rates and their ratio (the
// issue's goal: through the edge at least 70% of direct).
func edgeRPC(dir string, clients int, d time.Duration) error {
	appDir := filepath.Join(dir, "apps", "rpc")
	os.MkdirAll(appDir, 0o755)
	if err := os.WriteFile(filepath.Join(appDir, "main.js"), []byte(benchApp), 0o644); err != nil {
		return err
	}
	c, err := startRPCCluster(dir)
	if err != nil {
		return err
	}
	defer c.stop()
	oPid, ePid := c.origin.Process.Pid, c.edge.Process.Pid
	direct, err := callRate("rtmp://"+c.originAddr+"/rpc", clients, d, oPid, ePid)
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	viaEdge, err := callRate("rtmp://"+c.edgeAddr+"/rpc", clients, d, oPid, ePid)
	if err != nil {
		return fmt.Errorf("through the edge: %w", err)
	}
	fmt.Printf("rpc direct  %d clients: %.0f calls/s, p50 %.2f ms, p99 %.2f ms, origin cpu %.0f%%, bench cpu %.0f%%\n",
		clients, direct.rate, direct.p50, direct.p99, direct.originCPU, direct.benchCPU)
	fmt.Printf("rpc edge    %d clients: %.0f calls/s, p50 %.2f ms, p99 %.2f ms, origin cpu %.0f%%, edge cpu %.0f%%, bench cpu %.0f%%\n",
		clients, viaEdge.rate, viaEdge.p50, viaEdge.p99, viaEdge.originCPU, viaEdge.edgeCPU, viaEdge.benchCPU)
	fmt.Printf("rpc edge cpu per call %.1f µs, origin cpu per call %.1f µs (direct: %.1f µs)\n",
		1e4*viaEdge.edgeCPU/max(viaEdge.rate, 1e-9), 1e4*viaEdge.originCPU/max(viaEdge.rate, 1e-9),
		1e4*direct.originCPU/max(direct.rate, 1e-9))
	fmt.Printf("rpc through the edge / direct: %.2f (goal >= 0.70)\n", viaEdge.rate/max(direct.rate, 1e-9))
	return nil
}

// callRate connects n clients to url and has each call "echo" in a loop for d.
func callRate(url string, n int, d time.Duration, originPid, edgePid int) (callStats, error) {
	ctx := context.Background()
	cs := make([]*rtmpclient.Client, n)
	for i := range cs {
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		if err != nil {
			return callStats{}, fmt.Errorf("dial: %w", err)
		}
		defer c.Close()
		cs[i] = c
	}
	var calls atomic.Int64
	var lat latencies
	deadline := time.Now().Add(d)
	self := os.Getpid()
	o0, e0, b0, t0 := cpuSeconds(originPid), cpuSeconds(edgePid), cpuSeconds(self), time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	p50, p99 := lat.percentiles()
	return callStats{rate: float64(calls.Load()) / el, p50: ms(p50), p99: ms(p99),
		originCPU: 100 * (cpuSeconds(originPid) - o0) / el, edgeCPU: 100 * (cpuSeconds(edgePid) - e0) / el,
		benchCPU: 100 * (cpuSeconds(self) - b0) / el}, nil
}

// startRPCCluster is startCluster with diagnostics: $BENCH_CPUPROFILE and $BENCH_EDGE_CPUPROFILE
// name files for the origin's and the edge's CPU profiles of the run ("" = none).
func startRPCCluster(dir string) (*cluster, error) {
	var originArgs, edgeArgs []string
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		originArgs = append(originArgs, "-cpuprofile", p)
	}
	if p := os.Getenv("BENCH_EDGE_CPUPROFILE"); p != "" {
		edgeArgs = append(edgeArgs, "-cpuprofile", p)
	}
	if len(edgeArgs) == 0 {
		return startCluster(dir, originArgs...)
	}
	c, trunkAddr, err := startTrunkOrigin(dir, originArgs...)
	if err != nil {
		return nil, err
	}
	c.edgeAddr = freePort()
	args := append([]string{"-rtmp", c.edgeAddr, "-origins", trunkAddr, "-http", "", "-id", "bench-edge",
		"-log-level", "warn"}, append(unlimited(), edgeArgs...)...)
	c.edge = exec.Command(filepath.Join(dir, "edge"), args...)
	c.edge.Stderr = os.Stderr
	if err := c.edge.Start(); err != nil {
		c.edge = nil
		c.stop()
		return nil, err
	}
	if err := waitListening(c.edgeAddr); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}
