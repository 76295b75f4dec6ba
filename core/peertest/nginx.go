// Package peertest starts real peer servers for tests (Debian's nginx with the RTMP module), so
// that every package testing against a peer shares one careful way of doing it: a free loopback
// port, a temp dir, readiness awaited, the process ended at cleanup, and under CI=true a missing
// peer is a failure, not a skip. Only tests import it.
package peertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// NginxModule is where Debian's libnginx-mod-rtmp installs the RTMP module.
const NginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// StartNginx runs nginx-rtmp (TESTING.md "nginx-rtmp as a side-by-side peer", single process)
// on a free port in a temp dir and returns its address. Without nginx the test is skipped,
// except under CI=true where that is a failure.
func StartNginx(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err == nil {
		_, err = os.Stat(NginxModule)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nginx-rtmp is required under CI: %v", err)
		}
		t.Skipf("nginx-rtmp not installed: %v", err)
	}
	dir := t.TempDir()
	addr := FreeAddr(t)
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1;
pid %[1]s/nginx.pid; error_log %[1]s/error.log warn;
load_module %[3]s;
events { worker_connections 1024; }
rtmp { server { listen %[2]s; chunk_size 4096;
       application live { live on; record off; } } }
`, dir, addr, NginxModule)
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

// FreeAddr picks a free loopback port for a server we cannot hand a listener to.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening polls until nginx accepts: it has no readiness signal of its own.
func waitListening(t testing.TB, addr string, exited <-chan struct{}, out *bytes.Buffer) {
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
