package admin

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

var processStart = time.Now()

var runtimeSamples = []metrics.Sample{
	{Name: "/sched/goroutines:goroutines"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
}

// ProcessMetrics are the figures every server exposes: resident memory (what the per-connection
// budgets are measured in), the Go runtime's view of memory, goroutines and GC cycles, uptime.
func ProcessMetrics() []Metric {
	s := make([]metrics.Sample, len(runtimeSamples))
	copy(s, runtimeSamples)
	metrics.Read(s)
	val := func(i int) float64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return float64(s[i].Value.Uint64())
		}
		return 0
	}
	one := func(name, help string, kind Kind, v float64) Metric {
		return Metric{Name: name, Help: help, Kind: kind, Samples: []Sample{{Value: v}}}
	}
	return []Metric{
		one("fmsgo_process_resident_bytes", "Resident memory of the process (VmRSS).", Gauge, float64(residentBytes())),
		one("fmsgo_go_memory_bytes", "Memory mapped by the Go runtime.", Gauge, val(2)),
		one("fmsgo_go_heap_object_bytes", "Bytes in live and not yet swept heap objects.", Gauge, val(1)),
		one("fmsgo_go_goroutines", "Goroutines.", Gauge, val(0)),
		one("fmsgo_go_gc_cycles_total", "Completed GC cycles.", Counter, val(3)),
		one("fmsgo_go_threads", "OS threads the runtime may run Go code on (GOMAXPROCS).", Gauge, float64(runtime.GOMAXPROCS(0))),
		one("fmsgo_uptime_seconds", "Seconds since the process started.", Gauge, time.Since(processStart).Seconds()),
	}
}

// residentBytes reads VmRSS from /proc/self/status (0 where there is no /proc).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
