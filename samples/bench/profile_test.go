package main

import (
	"testing"
	"time"
)

// tracesFixture is `go tool pprof -traces` output in the shape Go 1.26 prints it: a header,
// then one block per stack, leaf first, the block's value on its first line.
const tracesFixture = `File: origin
Type: cpu
Duration: 25.47s, Total samples = 9.71s (38.12%)
-----------+-------------------------------------------------------
     1.48s   internal/runtime/syscall/linux.Syscall6
             syscall.RawSyscall6
             syscall.Syscall
             github.com/fmsgo/fmsgo/core/rtmpconn.(*Conn).writevNow.func1
             internal/poll.(*FD).RawWrite
             github.com/fmsgo/fmsgo/core/rtmpconn.(*Conn).writeLoop
-----------+-------------------------------------------------------
     580ms   internal/runtime/syscall/linux.Syscall6
             syscall.RawSyscall6
             syscall.Syscall
             syscall.read
             syscall.Read (inline)
             internal/poll.(*FD).Read
             github.com/fmsgo/fmsgo/core/rtmpconn.(*Conn).readLoop
-----------+-------------------------------------------------------
     110ms   internal/runtime/syscall/linux.Syscall6
             internal/runtime/syscall/linux.EpollWait
             runtime.netpoll
             runtime.findRunnable
             runtime.schedule
-----------+-------------------------------------------------------
      20ms   runtime.nextFreeFast (inline)
             runtime.mallocgc
             github.com/dop251/goja.(*vm).run
-----------+-------------------------------------------------------
      30ms   runtime.memmove
             github.com/fmsgo/fmsgo/core/amf.(*Encoder).AppendAMF0
             github.com/fmsgo/fmsgo/core/rtmpmsg.AppendCommand
-----------+-------------------------------------------------------
      10ms   runtime.gopark
             runtime.selectgo
             github.com/fmsgo/fmsgo/scripting/jsloop.(*Loop).run
-----------+-------------------------------------------------------
      40ms   github.com/dop251/goja.(*baseObject).getOwnPropStr
                 pprof::labels
             github.com/dop251/goja.(*vm).run
-----------+-------------------------------------------------------
      10ms   runtime.futex
             runtime.futexwakeup
-----------+-------------------------------------------------------
`

func TestGroupProfile(t *testing.T) {
	groups, total := groupProfile([]byte(tracesFixture))
	if want := 2280 * time.Millisecond; total != want {
		t.Fatalf("total %v, want %v", total, want)
	}
	want := map[string]time.Duration{
		"syscalls":                   1480*time.Millisecond + 580*time.Millisecond + 110*time.Millisecond + 10*time.Millisecond,
		"runtime: GC and allocation": 20 * time.Millisecond,
		"amf":                        30 * time.Millisecond,
		"runtime: scheduler":         10 * time.Millisecond,
		"JS (goja)":                  40 * time.Millisecond,
	}
	for name, d := range want {
		if g := groups[name]; g == nil || g.d != d {
			t.Errorf("group %q: %+v, want %v", name, g, d)
		}
	}
	if len(groups) != len(want) {
		t.Errorf("groups %v, want exactly %v", groups, want)
	}
	sub := groups["syscalls"].sub
	for name, d := range map[string]time.Duration{"writev": 1480 * time.Millisecond, "read": 580 * time.Millisecond,
		"epollwait": 110 * time.Millisecond, "futex": 10 * time.Millisecond} {
		if sub[name] != d {
			t.Errorf("syscall %q: %v, want %v (all: %v)", name, sub[name], d, sub)
		}
	}
}

func TestParsePprofDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"10ms": 10 * time.Millisecond, "1.48s": 1480 * time.Millisecond,
		"1.50mins": 90 * time.Second, "250us": 250 * time.Microsecond, "x": 0} {
		if got := parsePprofDuration(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
