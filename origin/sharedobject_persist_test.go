package origin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// persistConsent is the app.json that lets clients use persistent shared objects.
const persistConsent = `{"persistentSharedObjects": true}`

// soPersistApp lets a client make the server flush a persistent object.
const soPersistApp = `
Client.prototype.save = function (name) { return SharedObject.get(name, true).flush(); };
`

// startStoppable starts an origin on the given apps and data folders; stop shuts it down the way
// the process does on SIGTERM and waits for the engine to unload its instances.
func startStoppable(t *testing.T, apps, data string) (o *testOrigin, stop func()) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", "", ""
	cfg.Apps, cfg.Data = apps, data
	cfg.Limits.DrainTimeout = time.Second
	logs := &syncBuffer{}
	srv, err := New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		srv.Shutdown()
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("origin logs:\n%s", tail(logs.String(), 40))
		}
	})
	return &testOrigin{srv: srv, addr: srv.RTMPAddr().String(), logs: logs, apps: apps}, stop
}

// TestSharedObjectPersistAcrossRestart: slots of a persistent object, flushed, come back with
// their version in a new origin on the same -data folder.
func TestSharedObjectPersistAcrossRestart(t *testing.T) {
	t.Parallel()
	apps, data := t.TempDir(), t.TempDir()
	o1, stop := startStoppable(t, apps, data)
	o1.writeApp(t, "so", soPersistApp)
	o1.writeAppJSON(t, "so", persistConsent)
	ctx := ctx5(t)
	a := dialSO(t, o1, "so", "a", false)
	if m := a.use(ctx, "scores", true); m.flags == 0 || len(m.events) != 1 {
		t.Fatalf("first use of a persistent object: %s", m)
	}
	a.send("scores", true, change("alice", 10.0, "bob", "x"))
	a.next(ctx)
	a.send("scores", true, change("carol", true))
	a.next(ctx)
	a.send("scores", true, sharedobject.Event{Type: sharedobject.EventRequestRemove, Key: "bob"})
	a.next(ctx)
	if v, err := a.c.Call(ctx, "save", "scores"); err != nil || v != true {
		t.Fatalf("save: %v %v", v, err)
	}
	a.c.Close()
	stop()

	o2, _ := startStoppable(t, apps, data)
	b := dialSO(t, o2, "so", "b", true)
	m := b.use(ctx, "scores", true)
	if m.version != 3 {
		t.Fatalf("version %d after restart, want 3: %s", m.version, m)
	}
	want := map[string]any{"alice": 10.0, "carol": true}
	if got := m.slots(); len(got) != 2 || got["alice"] != 10.0 || got["carol"] != true {
		t.Fatalf("slots after restart %v, want %v", got, want)
	}
	for _, e := range m.events {
		if e.Type == sharedobject.EventClear {
			t.Fatalf("a persistent object's Use reply carries Clear: %s", m)
		}
	}
}

// TestSharedObjectSurvivesKill9 builds the real origin binary, writes slots (one flushed by the
// app, one left to the auto-flush), kills the process with SIGKILL and checks a new process
// serves both.
func TestSharedObjectSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the origin binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "origin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/origin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	apps, data := t.TempDir(), t.TempDir()
	(&testOrigin{apps: apps}).writeApp(t, "so", soPersistApp)
	(&testOrigin{apps: apps}).writeAppJSON(t, "so", persistConsent)
	ctx := ctx5(t)

	o := runOriginProcess(t, bin, apps, data)
	a := dialSO(t, o.testOrigin, "so", "a", false)
	a.use(ctx, "k9", true)
	a.send("k9", true, change("flushed", 1.0))
	a.next(ctx)
	if v, err := a.c.Call(ctx, "save", "k9"); err != nil || v != true {
		t.Fatalf("save: %v %v", v, err)
	}
	file := filepath.Join(data, "so", "_definst_", "k9.fso")
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	a.send("k9", true, change("auto", "yes"))
	a.next(ctx)
	waitFor(t, 5*time.Second, "the auto-flush", func() bool {
		b, err := os.ReadFile(file)
		return err == nil && !bytes.Equal(b, saved)
	})
	o.kill()

	o2 := runOriginProcess(t, bin, apps, data)
	b := dialSO(t, o2.testOrigin, "so", "b", false)
	m := b.use(ctx, "k9", true)
	if got := m.slots(); got["flushed"] != 1.0 || got["auto"] != "yes" || m.version != 2 {
		t.Fatalf("after kill -9: %s", m)
	}
}

// originProcess is a real origin process.
type originProcess struct {
	*testOrigin
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *originProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// runOriginProcess starts bin (with extra flags after the harness's) and waits for its
// "listening" log line to learn the port.
func runOriginProcess(t *testing.T, bin, apps, data string, extra ...string) *originProcess {
	t.Helper()
	args := []string{"-rtmp", "127.0.0.1:0", "-trunk", "", "-http", "", "-apps", apps, "-data", data,
		"-scriptlib", "", "-log-format", "json"}
	cmd := exec.Command(bin, append(args, extra...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &originProcess{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Message, Proto, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "listening" && line.Proto == "rtmp" {
				select {
				case addr <- line.Addr:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("origin process logs:\n%s", tail(logs.String(), 40))
		}
	})
	select {
	case a := <-addr:
		p.testOrigin = &testOrigin{addr: a, apps: apps, logs: logs}
	case <-p.done:
		t.Fatalf("origin exited:\n%s", logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("origin did not listen:\n%s", logs.String())
	}
	return p
}
