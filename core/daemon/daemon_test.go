package daemon

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type fakeServer struct {
	started  chan struct{}
	shutdown chan struct{}
}

func (f *fakeServer) Start(context.Context) error { close(f.started); return nil }
func (f *fakeServer) Shutdown()                   { close(f.shutdown) }

// TestRunDrainsOnSignal: SIGINT ends the run through Shutdown, and both profiles are written.
func TestRunDrainsOnSignal(t *testing.T) {
	dir := t.TempDir()
	srv := &fakeServer{started: make(chan struct{}), shutdown: make(chan struct{})}
	prof := Profiles{CPU: filepath.Join(dir, "cpu.out"), Heap: filepath.Join(dir, "heap.out")}
	done := make(chan error, 1)
	go func() { done <- Run(srv, zerolog.Nop(), prof) }()
	select {
	case <-srv.started:
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after SIGINT")
	}
	select {
	case <-srv.shutdown:
	default:
		t.Fatal("Shutdown not called")
	}
	for _, f := range []string{prof.CPU, prof.Heap} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
}

type reloadingServer struct {
	fakeServer
	reloads chan struct{}
}

func (r *reloadingServer) Reload() error { r.reloads <- struct{}{}; return nil }

// TestRunReloadsOnSIGHUP: each SIGHUP calls Reload, and the server keeps running until SIGTERM.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	srv := &reloadingServer{fakeServer: fakeServer{started: make(chan struct{}), shutdown: make(chan struct{})},
		reloads: make(chan struct{}, 4)}
	done := make(chan error, 1)
	go func() { done <- Run(srv, zerolog.Nop(), Profiles{}) }()
	<-srv.started
	for i := range 2 {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-srv.reloads:
		case <-time.After(10 * time.Second):
			t.Fatalf("SIGHUP %d did not reach Reload", i+1)
		}
	}
	select {
	case <-srv.shutdown:
		t.Fatal("SIGHUP shut the server down")
	default:
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after SIGTERM")
	}
}
