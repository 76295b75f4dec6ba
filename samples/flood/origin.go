package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// probeApp accepts every connection and echoes calls: the flood is the only hostile party.
const probeApp = `Client.prototype.echo = function (x) { return x; };`

type origin struct {
	cmd      *exec.Cmd
	dir      string
	rtmp     string
	logLines atomic.Int64 // warn and error lines the origin wrote
}

// startOrigin builds (when bin is empty) and starts an origin with one app, "probe", on a free
// loopback port, and waits for its listening line.
func startOrigin(bin string, extra []string) (*origin, error) {
	dir, err := os.MkdirTemp("", "fmsgo-flood")
	if err != nil {
		return nil, err
	}
	if bin == "" {
		bin = filepath.Join(dir, "origin")
		if out, err := exec.Command("go", "build", "-o", bin, "./origin/cmd/origin").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	apps := filepath.Join(dir, "apps")
	if err := os.MkdirAll(filepath.Join(apps, "probe"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(apps, "probe", "main.js"), []byte(probeApp), 0o644); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-rtmp", addr, "-trunk", "", "-http", "", "-apps", apps,
		"-data", filepath.Join(dir, "data"), "-log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	o := &origin{cmd: cmd, dir: dir, rtmp: addr}
	go drainLogs(stderr, &o.logLines)
	if err := waitListening(addr, 10*time.Second); err != nil {
		o.stop()
		return nil, err
	}
	return o, nil
}

// drainLogs keeps the origin's stderr flowing and counts its lines, so that an origin that logs
// per refused connection shows in the report.
func drainLogs(r io.Reader, lines *atomic.Int64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines.Add(1)
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("origin did not listen on %s within %s", addr, limit)
}

func (o *origin) pid() int { return o.cmd.Process.Pid }

func (o *origin) stop() {
	_ = o.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = o.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(o.dir)
}

// procSample is what /proc says of the origin at one moment.
type procSample struct {
	rss     int64
	fds     int
	threads int
}

func (o *origin) sample() procSample {
	var s procSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.pid()))
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				s.rss = kb << 10
			}
			if len(f) >= 2 && f[0] == "Threads:" {
				s.threads, _ = strconv.Atoi(f[1])
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", o.pid())); err == nil {
		s.fds = len(ents)
	}
	return s
}

// watchPeak samples every 50 ms until ctx ends; the returned function gives the peaks.
func (o *origin) watchPeak(ctx context.Context) func() procSample {
	var mu sync.Mutex
	var peak procSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			s := o.sample()
			mu.Lock()
			peak.rss, peak.fds = max(peak.rss, s.rss), max(peak.fds, s.fds)
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() procSample {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// awaitRelease watches the origin after the flood: how long until its descriptors are back to
// what they were at rest, and its resident memory then and at the end of the watch.
func (o *origin) awaitRelease(base procSample, limit time.Duration) string {
	start := time.Now()
	fdsBack := time.Duration(-1)
	var s procSample
	for time.Since(start) < limit {
		s = o.sample()
		if fdsBack < 0 && s.fds <= base.fds+2 {
			fdsBack = time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	back := "not within the watch"
	if fdsBack >= 0 {
		back = fdsBack.Round(10 * time.Millisecond).String()
	}
	return fmt.Sprintf("fds back to rest (%d) after %s; after %s: %d fds, RSS %.1f MiB (at rest %.1f)",
		base.fds, back, limit, s.fds, mib(s.rss), mib(base.rss))
}
