package origin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/peertest"
	"github.com/rs/zerolog"
)

// testOrigin is a real origin on 127.0.0.1:0 with a temporary apps folder.
type testOrigin struct {
	srv  *Server
	addr string
	logs *syncBuffer
	apps string // the apps folder
}

// writeApp writes an app's main.js (creating the folder) and returns its path.
func (o *testOrigin) writeApp(t testing.TB, name, code string) string {
	t.Helper()
	dir := filepath.Join(o.apps, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "main.js")
	if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startOrigin starts an origin serving the given app folders (each gets an empty folder).
func startOrigin(t testing.TB, apps ...string) *testOrigin {
	t.Helper()
	return startOriginWith(t, nil, apps...)
}

// startOriginWith lets a test adjust the configuration first.
func startOriginWith(t testing.TB, adjust func(*Config), apps ...string) *testOrigin {
	t.Helper()
	if len(apps) == 0 {
		apps = []string{"live"}
	}
	dir := t.TempDir()
	for _, a := range apps {
		if err := os.MkdirAll(filepath.Join(dir, a), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", "", ""
	cfg.Apps, cfg.Data = dir, t.TempDir()
	cfg.Limits.DrainTimeout = time.Second
	if adjust != nil {
		adjust(&cfg)
	}
	logs := &syncBuffer{}
	srv, err := New(cfg, zerolog.New(logs).With().Timestamp().Logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		srv.Shutdown()
		if t.Failed() {
			t.Logf("origin logs:\n%s", tail(logs.String(), 60))
		}
	})
	return &testOrigin{srv: srv, addr: srv.RTMPAddr().String(), logs: logs, apps: dir}
}

func (o *testOrigin) url(path string) string { return "rtmp://" + o.addr + "/" + path }

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// requireTool finds a real client; missing it is a failure under CI=true, a skip otherwise.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return peertest.RequireTool(t, name)
}

// waitFor polls cond until it holds or the bound passes: for events with no hook to wait on.
func waitFor(t testing.TB, bound time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > bound {
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		<-tick.C
	}
	return time.Since(start)
}

// proc is a real client running in the background; done is closed when it exits.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// ffmpegPublish starts ffmpeg publishing a lavfi H.264+AAC test source for secs seconds.
func ffmpegPublish(t testing.TB, url string, secs float64, extra ...string) *proc {
	t.Helper()
	ff := requireTool(t, "ffmpeg")
	args := []string{"-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
		"-c:a", "aac", "-t", fmt.Sprint(secs)}
	args = append(args, extra...)
	args = append(args, "-f", "flv", url)
	cmd := exec.Command(ff, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() && stderr.String() != "" {
			t.Logf("ffmpeg publisher stderr:\n%s", tail(stderr.String(), 20))
		}
	})
	return p
}

// waitPublished waits until the instance has a publisher for name.
func (o *testOrigin) waitPublished(t testing.TB, app, name string) {
	t.Helper()
	waitFor(t, 15*time.Second, "publisher of "+name, func() bool { return o.srv.hasPublisher(app, DefaultInstance, name) })
}
