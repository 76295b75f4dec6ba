package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuUse is a process's CPU time in seconds, split into user and kernel (system) time.
type cpuUse struct{ user, sys float64 }

func (u cpuUse) total() float64 { return u.user + u.sys }

func (u cpuUse) sub(v cpuUse) cpuUse { return cpuUse{u.user - v.user, u.sys - v.sys} }

// sysShare is the kernel's share of the CPU time, in percent: for a server that mostly moves
// bytes between sockets it is the floor of what its own code can save.
func (u cpuUse) sysShare() float64 { return 100 * u.sys / max(u.total(), 1e-9) }

// cpuTimes reads utime and stime of a process from /proc (clock ticks of 100 Hz on
// Linux/amd64); a process that is gone reads as zero.
func cpuTimes(pid int) cpuUse {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuUse{}
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return cpuUse{ut / 100, st / 100}
}

// tickError is "" or, when the CPU time is few of /proc's 10 ms clock ticks, how coarse a
// figure per operation from it is: " ±20%: 5 ticks".
func tickError(u cpuUse) string {
	ticks := u.total() * 100
	if ticks >= 50 {
		return ""
	}
	return fmt.Sprintf(" ±%.0f%%: %.0f ticks", 100/max(ticks, 1), ticks)
}

// cpuSeconds is a process's user plus system CPU time in seconds.
func cpuSeconds(pid int) float64 { return cpuTimes(pid).total() }

func rssKiB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v
		}
	}
	return 0
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(b, []byte("processor\t:"))
}

// loadAverage is /proc/loadavg's first three fields: figures from a loaded machine are not
// comparable with a quiet run's, so the bench prints it at the start and the end.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
