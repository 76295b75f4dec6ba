package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/edge"
	"github.com/rs/zerolog"
)

// TestEdgeIdleHeap is a diagnostic, not a check: with FMSGO_EDGE_HEAP=DIR it holds
// FMSGO_EDGE_HEAP_CLIENTS (default 3000) idle clients on an edge running in this process (the
// edge binary has no heap-profile flag) with a real origin process behind it, and writes
// DIR/edge.heap, DIR/edge.goroutines and DIR/origin.heap for `go tool pprof`, logging the
// runtime's memory figures per client. Every allocation is recorded (memprofilerate=1), so the
// profiles' bytes divided by the client count are exact.
func TestEdgeIdleHeap(t *testing.T) {
	out := os.Getenv("FMSGO_EDGE_HEAP")
	if out == "" {
		t.Skip("set FMSGO_EDGE_HEAP=DIR to profile the edge's memory per idle client")
	}
	n, err := strconv.Atoi(os.Getenv("FMSGO_EDGE_HEAP_CLIENTS"))
	if err != nil || n <= 0 {
		n = 3000
	}
	runtime.MemProfileRate = 1              // every allocation, for exact bytes per client
	t.Setenv("GODEBUG", "memprofilerate=1") // ...in the origin too
	dir := t.TempDir()
	for name, pkg := range map[string]string{"origin": "origin/cmd/origin", "loadtest": "samples/loadtest"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/fmsgo/fmsgo/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	if err := writeIdleApp(dir); err != nil {
		t.Fatal(err)
	}
	c, trunkAddr, err := startTrunkOrigin(dir, "-memprofile", filepath.Join(out, "origin.heap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	url := startInProcessEdge(t, trunkAddr)
	if err := warmUp(url); err != nil {
		t.Fatal(err)
	}
	before := memFigures()
	load, rep, err := startIdleLoad(dir, url, n, max(1, (n+4999)/5000))
	if err != nil {
		t.Fatal(err)
	}
	defer load.stop()
	time.Sleep(idleSettle)
	after := memFigures()
	t.Logf("%d idle clients connected (%d failed); per client: %s", rep.Connected, rep.Failed, after.perClient(before, rep.Connected))
	writeProfile(t, filepath.Join(out, "edge.heap"), "heap", 0)
	writeProfile(t, filepath.Join(out, "edge.goroutines"), "goroutine", 1)
	debug.FreeOSMemory() // what the resident memory would be with no garbage and nothing unreturned
	t.Logf("after returning free memory to the OS, per client: %s", memFigures().perClient(before, rep.Connected))
	c.origin.Process.Signal(os.Interrupt) // the origin writes its heap profile before it drains
	c.origin.Wait()
	c.origin = nil
}

// startInProcessEdge runs the edge library in this process against the origin's trunk.
func startInProcessEdge(t *testing.T, trunkAddr string) string {
	cfg := edge.DefaultConfig()
	cfg.RTMP, cfg.HTTP, cfg.ID, cfg.Origins = "127.0.0.1:0", "", "heap-edge", []string{trunkAddr}
	srv, err := edge.New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Shutdown() })
	return "rtmp://" + srv.RTMPAddr().String() + "/idle"
}

// mem is the runtime's view of this process's memory after a GC.
type mem struct {
	heapInuse, stackInuse, sys uint64
	goroutines                 int
	rssKiB                     float64
}

func memFigures() mem {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, sys: ms.Sys,
		goroutines: runtime.NumGoroutine(), rssKiB: rssKiB(os.Getpid())}
}

func (m mem) perClient(base mem, n int) string {
	d := float64(max(n, 1))
	return fmt.Sprintf("rss %.1f KiB, heap in use %.1f KiB, stacks %.1f KiB, goroutines %.2f",
		(m.rssKiB-base.rssKiB)/d, float64(m.heapInuse-base.heapInuse)/1024/d,
		float64(m.stackInuse-base.stackInuse)/1024/d, float64(m.goroutines-base.goroutines)/d)
}

func writeProfile(t *testing.T, path, name string, debug int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		t.Fatal(err)
	}
}
