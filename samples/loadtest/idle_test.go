package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/peertest"
)

// TestRunIdleAgainstNginx holds 20 idle connections from two source addresses, checks the ready
// report, then ends the run and checks that none dropped while idle.
func TestRunIdleAgainstNginx(t *testing.T) {
	t.Parallel()
	addr := peertest.StartNginx(t)
	cfg := Config{URL: "rtmp://" + addr + "/live", Duration: time.Minute, Bitrate: 1_000_000,
		Timeout: 5 * time.Second, ReadBuffer: 4096, SourceAddrs: []string{"127.0.0.1", "127.0.0.2"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- RunIdle(ctx, cfg, 20, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	ready := readReport(t, lines)
	if !ready.Ready || ready.Connected != 20 || ready.Failed != 0 || ready.SetupP50Ms <= 0 {
		t.Fatalf("ready report: %+v", ready)
	}
	cancel()
	final := readReport(t, lines)
	if final.Ready || final.Connected != 20 || final.Disconnects != 0 {
		t.Fatalf("final report: %+v", final)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRunIdleRejected counts connects the server refuses (nginx has no application "nope").
func TestRunIdleRejected(t *testing.T) {
	t.Parallel()
	addr := peertest.StartNginx(t)
	cfg := Config{URL: "rtmp://" + addr + "/nope", Duration: 5 * time.Second, Bitrate: 1_000_000,
		Timeout: 2 * time.Second, ReadBuffer: 4096}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() { RunIdle(ctx, cfg, 3, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	r := readReport(t, lines)
	cancel()
	io.Copy(io.Discard, pr)
	if r.Connected != 0 || r.Failed != 3 || len(r.Errors) == 0 {
		t.Fatalf("report: %+v", r)
	}
}

func readReport(t *testing.T, s *bufio.Scanner) IdleReport {
	t.Helper()
	if !s.Scan() {
		t.Fatalf("no report: %v", s.Err())
	}
	var r IdleReport
	if err := json.Unmarshal(s.Bytes(), &r); err != nil {
		t.Fatalf("report %q: %v", s.Text(), err)
	}
	return r
}
