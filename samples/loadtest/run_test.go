package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const nginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// startNginx runs nginx-rtmp (TESTING.md "nginx-rtmp as a side-by-side peer", single process)
// on a free port in a temp dir and returns its address. Without nginx the test is skipped,
// except under CI=true where that is a failure.
func startNginx(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err == nil {
		_, err = os.Stat(nginxModule)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nginx-rtmp is required under CI: %v", err)
		}
		t.Skipf("nginx-rtmp not installed: %v", err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1;
pid %[1]s/nginx.pid; error_log %[1]s/error.log warn;
load_module %[3]s;
events { worker_connections 1024; }
rtmp { server { listen %[2]s; chunk_size 4096;
       application live { live on; record off; } } }
`, dir, addr, nginxModule)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	waitListening(t, addr, exited, &out)
	return addr
}

// freeAddr picks a free loopback port for a server we cannot hand a listener to.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening polls until nginx accepts: it has no readiness signal of its own.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			nc.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("nginx did not listen on %s", addr)
}

// TestRunAgainstNginx runs the generator in-process for 2 s with 1 publisher and 5 players.
func TestRunAgainstNginx(t *testing.T) {
	t.Parallel()
	addr := startNginx(t)
	cfg := Config{URL: "rtmp://" + addr + "/live", Stream: "lt", Players: 5, Publishers: 1,
		Ramp: 200 * time.Millisecond, Duration: 2 * time.Second, Bitrate: 1_000_000,
		Timeout: 5 * time.Second, ReadBuffer: 64 << 10, SourceAddrs: []string{"127.0.0.1", "127.0.0.2"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum.print(&out)
	t.Log("\n" + out.String())
	switch {
	case sum.PlayersConnected != 5 || sum.PlayersFailed != 0 || sum.Disconnects != 0 || len(sum.Errors) != 0:
		t.Fatalf("connections: %+v", sum)
	case sum.PublishersOK != 1 || sum.PublishedMessages < 50:
		t.Fatalf("publisher: %+v", sum)
	case sum.PlayersWithKeyframe != 5 || sum.FirstKeyframeP50Ms <= 0 || sum.FirstKeyframeP99Ms > 1900:
		t.Fatalf("keyframes: %+v", sum)
	case sum.Messages < 5*30 || sum.Bytes < 5*100_000 || sum.Seconds < 1.9 || sum.Seconds > 5:
		t.Fatalf("volume: %+v", sum)
	}
}
