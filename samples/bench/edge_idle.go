package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// idleApp accepts every connect; the idle bench's clients do nothing after it.
const idleApp = "application.onConnect = function (client) { return true; };\n"

// idleSettle is how long the servers get after the last connect before their memory is read:
// connects finished, buffers of the setup freed, a GC cycle or two run.
const idleSettle = 5 * time.Second

// idleReport is one load process's JSON line (samples/loadtest's IdleReport).
type idleReport struct {
	Ready       bool     `json:"ready"`
	Connected   int      `json:"connected"`
	Failed      int      `json:"failed"`
	Disconnects int      `json:"disconnects"`
	SetupP50Ms  float64  `json:"setup_p50_ms"`
	SetupP99Ms  float64  `json:"setup_p99_ms"`
	Errors      []string `json:"errors"`
}

// writeIdleApp adds the "idle" application to the bench's apps folder.
func writeIdleApp(dir string) error {
	appDir := filepath.Join(dir, "apps", "idle")
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(appDir, "main.js"), []byte(idleApp), 0o644)
}

// edgeIdle measures the resident memory an idle client costs the edge, and what its trunk
// session costs the origin: clients connected to the edge and then idle, spread over procs load
// processes (each under the 20,000 open-file limit) with their own 127.0.0.x source address.
// With heapDir set, the origin writes a heap profile there while the clients are connected.
func edgeIdle(dir string, clients, procs int, heapDir string) error {
	if err := writeIdleApp(dir); err != nil {
		return err
	}
	var originArgs []string
	if heapDir != "" {
		originArgs = []string{"-memprofile", filepath.Join(heapDir, "origin.heap")}
	}
	c, err := startCluster(dir, originArgs...)
	if err != nil {
		return err
	}
	defer c.stop()
	url := "rtmp://" + c.edgeAddr + "/idle"
	if err := warmUp(url); err != nil {
		return err
	}
	ePid, oPid := c.edge.Process.Pid, c.origin.Process.Pid
	eBase, oBase := rssKiB(ePid), rssKiB(oPid)
	load, rep, err := startIdleLoad(dir, url, clients, procs)
	if err != nil {
		return err
	}
	defer load.stop()
	time.Sleep(idleSettle)
	eRSS, oRSS := rssKiB(ePid), rssKiB(oPid)
	n := float64(max(rep.Connected, 1))
	fmt.Printf("idle clients on the edge: %d connected, %d failed (%d load processes), setup p50 %.1f ms p99 %.1f ms%s\n",
		rep.Connected, rep.Failed, procs, rep.SetupP50Ms, rep.SetupP99Ms, errorsNote(rep.Errors))
	fmt.Printf("idle        edge rss %.1f -> %.1f MiB: %.1f KiB per idle client (goal <= 16, nginx-rtmp 16.1); origin rss %.1f -> %.1f MiB: %.1f KiB per trunk session\n",
		eBase/1024, eRSS/1024, (eRSS-eBase)/n, oBase/1024, oRSS/1024, (oRSS-oBase)/n)
	if heapDir != "" { // SIGINT makes the origin write its heap profile before it drains
		c.origin.Process.Signal(os.Interrupt)
		c.origin.Wait()
		c.origin = nil
	}
	if drops := load.stop(); drops > 0 {
		fmt.Printf("idle        %d clients were disconnected while idle\n", drops)
	}
	return nil
}

// warmUp connects once and leaves, so that the application instance (its script engine) is
// loaded before the baseline memory is read.
func warmUp(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		return fmt.Errorf("warm-up connect: %w", err)
	}
	c.Close()
	time.Sleep(500 * time.Millisecond) // the close reaches the origin
	return nil
}

func errorsNote(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return "; errors: " + strings.Join(errs, " | ")
}

// idleLoad is the running idle load processes.
type idleLoad struct {
	cmds  []*exec.Cmd
	lines []*bufio.Scanner
	done  bool
}

// startIdleLoad starts procs load processes holding clients idle connections to url between
// them, and returns when every process reported its connections set up, with the totals.
func startIdleLoad(dir, url string, clients, procs int) (*idleLoad, idleReport, error) {
	l := &idleLoad{}
	var total idleReport
	for k := range procs {
		n := clients/procs + btoi(k < clients%procs)
		cmd := exec.Command(filepath.Join(dir, "loadtest"), "-idle", strconv.Itoa(n), "-url", url,
			"-source-addrs", fmt.Sprintf("127.0.0.%d", 2+k), "-duration", "1h", "-timeout", "30s", "-read-buffer", "4096")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			l.stop()
			return nil, total, err
		}
		if err := cmd.Start(); err != nil {
			l.stop()
			return nil, total, err
		}
		l.cmds = append(l.cmds, cmd)
		l.lines = append(l.lines, bufio.NewScanner(out))
	}
	for _, s := range l.lines {
		r, err := nextReport(s)
		if err != nil {
			l.stop()
			return nil, total, err
		}
		total.Connected += r.Connected
		total.Failed += r.Failed
		total.SetupP50Ms = max(total.SetupP50Ms, r.SetupP50Ms) // the worst process's
		total.SetupP99Ms = max(total.SetupP99Ms, r.SetupP99Ms)
		total.Errors = append(total.Errors, r.Errors...)
	}
	return l, total, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nextReport(s *bufio.Scanner) (idleReport, error) {
	var r idleReport
	if !s.Scan() {
		return r, fmt.Errorf("idle load process ended without a report: %v", s.Err())
	}
	if err := json.Unmarshal(s.Bytes(), &r); err != nil {
		return r, fmt.Errorf("idle load report %q: %w", s.Text(), err)
	}
	return r, nil
}

// stop interrupts the load processes and returns the disconnects they saw while idle.
func (l *idleLoad) stop() int {
	if l.done {
		return 0
	}
	l.done = true
	for _, c := range l.cmds {
		c.Process.Signal(os.Interrupt)
	}
	drops := 0
	for i, c := range l.cmds {
		if r, err := nextReport(l.lines[i]); err == nil {
			drops += r.Disconnects
		}
		for l.lines[i].Scan() { // drain, so that the process never blocks on its stdout
		}
		c.Wait()
	}
	return drops
}
