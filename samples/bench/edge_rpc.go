package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// edgeRPC runs the RPC bench (the same JS echo method and client count as rpcBench) against one
// origin twice: directly, then through an edge, and prints both rates and their ratio (the
// issue's goal: through the edge at least 70% of direct).
func edgeRPC(dir string, clients int, d time.Duration, full bool) error {
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
	pids := []int{c.origin.Process.Pid, c.edge.Process.Pid}
	load := func(addr string) callLoad {
		return callLoad{urls: []string{"rtmp://" + addr + "/rpc"}, clients: clients, method: "echo", args: []any{1.0}, d: d, pids: pids, full: full}
	}
	direct, err := load(c.originAddr).run()
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	viaEdge, err := load(c.edgeAddr).run()
	if err != nil {
		return fmt.Errorf("through the edge: %w", err)
	}
	fmt.Printf("rpc direct  %d clients (%s): %.0f calls/s, p50 %.2f ms, p99 %.2f ms, origin cpu %.0f%%, bench cpu %.0f%%\n",
		clients, clientKind(full), direct.rate, direct.p50, direct.p99, direct.pct(0), direct.benchCPU)
	fmt.Printf("rpc edge    %d clients: %.0f calls/s, p50 %.2f ms, p99 %.2f ms, origin cpu %.0f%%, edge cpu %.0f%%, bench cpu %.0f%%\n",
		clients, viaEdge.rate, viaEdge.p50, viaEdge.p99, viaEdge.pct(0), viaEdge.pct(1), viaEdge.benchCPU)
	fmt.Printf("rpc edge cpu per call %.1f µs, origin cpu per call %.1f µs (direct: %.1f µs)\n",
		viaEdge.perCall(1), viaEdge.perCall(0), direct.perCall(0))
	fmt.Printf("rpc through the edge / direct: %.2f (goal >= 0.70)\n", viaEdge.rate/max(direct.rate, 1e-9))
	return nil
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
