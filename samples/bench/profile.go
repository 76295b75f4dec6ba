package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// printProfile prints where a server's CPU went, from the CPU profile the server wrote at exit:
// the samples grouped by what they were doing (syscalls by name, the runtime's GC and
// allocation, its scheduler, else the innermost package of ours, goja's or Go's on the stack),
// then `go tool pprof -top`'s 12 hottest functions.
func printProfile(label, binary, file string) error {
	traces, err := exec.Command("go", "tool", "pprof", "-traces", binary, file).Output()
	if err != nil {
		return fmt.Errorf("pprof -traces %s: %w", file, err)
	}
	groups, total := groupProfile(traces)
	fmt.Printf("  where the CPU goes, %s (%.2f s of samples; by the innermost package on the stack):\n", label, total.Seconds())
	printGroups(groups, total)
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", binary, file).Output()
	if err != nil {
		return fmt.Errorf("pprof -top %s: %w", file, err)
	}
	printed := false
	for _, l := range strings.Split(strings.TrimRight(string(top), "\n"), "\n") {
		if strings.Contains(l, "flat%") {
			printed = true
		}
		if printed {
			fmt.Println("    " + l)
		}
	}
	return nil
}

// profGroup is the time of one group and, for syscalls, of each call by name.
type profGroup struct {
	name string
	d    time.Duration
	sub  map[string]time.Duration
}

// groupProfile sums pprof -traces output by group.
func groupProfile(traces []byte) (map[string]*profGroup, time.Duration) {
	groups := map[string]*profGroup{}
	var total time.Duration
	add := func(value time.Duration, frames []string) {
		if value == 0 || len(frames) == 0 {
			return
		}
		name, sub := classify(frames)
		g := groups[name]
		if g == nil {
			g = &profGroup{name: name, sub: map[string]time.Duration{}}
			groups[name] = g
		}
		g.d += value
		if sub != "" {
			g.sub[sub] += value
		}
		total += value
	}
	var value time.Duration
	var frames []string
	inTraces := false
	sc := bufio.NewScanner(bytes.NewReader(traces))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "-----------+") {
			add(value, frames)
			value, frames, inTraces = 0, frames[:0], true
			continue
		}
		if !inTraces || strings.TrimSpace(l) == "" {
			continue
		}
		f := strings.Fields(l)
		if len(frames) == 0 && value == 0 {
			value = parsePprofDuration(f[0])
			f = f[1:]
		}
		if len(f) > 0 && !strings.Contains(f[0], ":") { // a label line ("key:[value]") is no frame
			frames = append(frames, f[0])
		}
	}
	add(value, frames)
	return groups, total
}

// parsePprofDuration reads pprof's values: 10ms, 1.48s, 1.20mins, 1.05hrs.
func parsePprofDuration(s string) time.Duration {
	s = strings.NewReplacer("mins", "m", "hrs", "h").Replace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0
	}
	return d
}

// classify names the group of one stack (leaf first) and, for a syscall, which one.
func classify(frames []string) (group, sub string) {
	for _, f := range frames {
		if gcFrames[f] {
			return "runtime: GC and allocation", ""
		}
	}
	if name := syscallName(frames); name != "" {
		return "syscalls", name
	}
	rt := 0 // the runtime's frames under the first other one
	for rt < len(frames) && (strings.HasPrefix(frames[rt], "runtime.") || strings.HasPrefix(frames[rt], "internal/runtime/")) {
		rt++
	}
	if schedulerIn(frames[:rt]) {
		return "runtime: scheduler", ""
	}
	for _, f := range frames {
		for _, p := range packageGroups {
			if strings.HasPrefix(f, p.prefix) {
				return p.name, ""
			}
		}
	}
	return "runtime, other", ""
}

// gcFrames mark a stack as the garbage collector's work or an allocation's.
var gcFrames = map[string]bool{
	"runtime.gcBgMarkWorker": true, "runtime.gcAssistAlloc": true, "runtime.bgsweep": true,
	"runtime.bgscavenge": true, "runtime.mallocgc": true, "runtime.gcStart": true,
	"runtime.markroot": true, "runtime.gcDrain": true, "runtime.growslice": true,
	"runtime.newobject": true, "runtime.makeslice": true,
}

// genericSyscall frames are the plumbing under every system call; the first frame above them
// names the call.
var genericSyscall = map[string]bool{
	"internal/runtime/syscall/linux.Syscall6": true, "syscall.RawSyscall6": true, "syscall.Syscall": true,
	"syscall.Syscall6": true, "syscall.RawSyscall": true, "syscall.RawSyscallNoError": true,
	"syscall.rawSyscallNoError": true, "syscall.runtime_entersyscall": true, "runtime.entersyscall": true,
	"runtime.exitsyscall": true,
}

// runtimeSyscalls are the runtime's own system calls, made without package syscall.
var runtimeSyscalls = map[string]string{
	"runtime.futex": "futex", "runtime.usleep": "usleep", "runtime.osyield": "sched_yield",
	"runtime.madvise": "madvise", "runtime.mmap": "mmap", "runtime.munmap": "munmap",
	"runtime.tgkill": "tgkill", "runtime.write1": "write", "runtime.read": "read",
	"runtime.epollwait": "epollwait",
}

// syscallName is the system call a stack (leaf first) is in, or "".
func syscallName(frames []string) string {
	if n, ok := runtimeSyscalls[frames[0]]; ok {
		return n
	}
	if !genericSyscall[frames[0]] {
		return ""
	}
	for _, f := range frames[1:] {
		if !genericSyscall[f] {
			return callName(f)
		}
	}
	return "other"
}

// callName is a system call's name from the function that made it: syscall.read is "read",
// a closure such as rtmpconn.(*Conn).writevNow.func1 is named by its function ("writev").
func callName(f string) string {
	parts := strings.Split(f[strings.LastIndexByte(f, '/')+1:], ".")
	n := parts[len(parts)-1]
	if strings.HasPrefix(n, "func") && len(parts) > 1 {
		n = parts[len(parts)-2]
	}
	n = strings.ToLower(n)
	if strings.Contains(n, "writev") {
		return "writev"
	}
	return n
}

// schedulerIn reports whether a stack's runtime frames (those under the first non-runtime one)
// are the scheduler's: parking, waking and switching goroutines.
func schedulerIn(runtimeFrames []string) bool {
	for _, f := range runtimeFrames {
		switch f {
		case "runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.gopark", "runtime.goready",
			"runtime.ready", "runtime.wakep", "runtime.startm", "runtime.stopm", "runtime.notewakeup",
			"runtime.runqgrab", "runtime.netpoll", "runtime.mcall", "runtime.goschedImpl", "runtime.selectgo":
			return true
		}
	}
	return false
}

// packageGroups name the packages a sample is charged to, the most specific prefix first.
var packageGroups = []struct{ prefix, name string }{
	{"github.com/dop251/goja", "JS (goja)"},
	{"github.com/fmsgo/fmsgo/core/amf", "amf"},
	{"github.com/fmsgo/fmsgo/core/chunk", "chunk"},
	{"github.com/fmsgo/fmsgo/core/rtmpconn", "rtmpconn"},
	{"github.com/fmsgo/fmsgo/core/rtmpmsg", "rtmpmsg"},
	{"github.com/fmsgo/fmsgo/core/netserver", "netserver"},
	{"github.com/fmsgo/fmsgo/core/live", "live, media"},
	{"github.com/fmsgo/fmsgo/core/netstream", "live, media"},
	{"github.com/fmsgo/fmsgo/core/media", "live, media"},
	{"github.com/fmsgo/fmsgo/core/sharedobject", "sharedobject"},
	{"github.com/fmsgo/fmsgo/core/trunk", "trunk"},
	{"github.com/fmsgo/fmsgo/core/", "core, other"},
	{"github.com/fmsgo/fmsgo/origin/session", "origin/session"},
	{"github.com/fmsgo/fmsgo/origin", "origin"},
	{"github.com/fmsgo/fmsgo/edge", "edge"},
	{"github.com/fmsgo/fmsgo/scripting/jsloop", "jsloop"},
	{"github.com/fmsgo/fmsgo/scripting", "scripting"},
	{"github.com/rs/zerolog", "logging"},
	{"github.com/yutopp/go-rtmp/handshake", "handshake"},
	{"crypto/", "crypto"},
	{"net.", "net, poll (Go)"},
	{"internal/poll.", "net, poll (Go)"},
	{"time.", "timers (Go)"},
}

// printGroups prints the groups, largest first, a few to a line.
func printGroups(groups map[string]*profGroup, total time.Duration) {
	gs := make([]*profGroup, 0, len(groups))
	for _, g := range groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].d > gs[j].d })
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(max(total, 1)) }
	var line []string
	for _, g := range gs {
		s := fmt.Sprintf("%s %.1f%%", g.name, pct(g.d))
		if len(g.sub) > 0 {
			s += " (" + subList(g.sub, pct) + ")"
		}
		line = append(line, s)
	}
	for i := 0; i < len(line); i += 4 {
		fmt.Println("    " + strings.Join(line[i:min(i+4, len(line))], " · "))
	}
}

// subList is "writev 15.2, read 6.0, ..." for the largest five, the rest summed.
func subList(sub map[string]time.Duration, pct func(time.Duration) float64) string {
	names := make([]string, 0, len(sub))
	for n := range sub {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return sub[names[i]] > sub[names[j]] })
	var parts []string
	var rest time.Duration
	for i, n := range names {
		if i < 5 {
			parts = append(parts, fmt.Sprintf("%s %.1f", n, pct(sub[n])))
		} else {
			rest += sub[n]
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("other %.1f", pct(rest)))
	}
	return strings.Join(parts, ", ")
}
