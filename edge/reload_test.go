package edge

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// TestEdgeReloadConfig: the edge's Reload (SIGHUP) re-reads its config file: a new route sends
// new connections to the origin it names while a connected client stays where it is, log_level
// applies at once, a changed listen address is logged as needing a restart, and a file with an
// error (or a route to an unknown origin) changes nothing; connect_timeout applies to the
// connections made after the reload. Not parallel: the log level is the
// process's.
func TestEdgeReloadConfig(t *testing.T) {
	was := zerolog.GlobalLevel()
	t.Cleanup(func() { zerolog.SetGlobalLevel(was) })
	zerolog.SetGlobalLevel(zerolog.InfoLevel)
	app := func(name string) map[string]string {
		return map[string]string{"chat": `Client.prototype.where = function () { return "` + name + `"; };`}
	}
	a := startOrigin(t, testSecret, app("a"))
	b := startOrigin(t, testSecret, app("b"))
	addrA, addrB := a.srv.TrunkAddr().String(), b.srv.TrunkAddr().String()
	path := filepath.Join(t.TempDir(), "edge.toml")
	writeConfig := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var given Config
	e := startEdgeWith(t, func(c *Config) {
		c.TrunkSecret, c.Routes = testSecret, map[string]string{"chat": addrA}
		given = *c
	}, a, b)
	e.srv.SetConfigSource(func() (Config, error) {
		c := given
		c.Routes = nil
		return c, config.Load(path, &c)
	})
	where := func(c *rtmpclient.Client) string {
		v, err := c.Call(ctx5(t), "where")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := v.(string)
		return s
	}
	first := dial(t, e.url("chat"), rtmpclient.Options{})
	if got := where(first); got != "a" {
		t.Fatalf("before the reload: on %s", got)
	}

	writeConfig("log_level = \"debug\"\nrtmp = \"127.0.0.1:1\"\n[limits]\nconnect_timeout = \"300ms\"\n" +
		"[routes]\nchat = \"" + addrB + "\"\n")
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if zerolog.GlobalLevel() != zerolog.DebugLevel {
		t.Fatalf("log level %v after the reload", zerolog.GlobalLevel())
	}
	if got := where(dial(t, e.url("chat"), rtmpclient.Options{})); got != "b" {
		t.Fatalf("a new connection after the route change: on %s", got)
	}
	if got := where(first); got != "a" {
		t.Fatalf("the connected client moved: on %s", got)
	}
	silent := handshaken(t, e.srv.RTMPAddr().String())
	_ = silent.SetReadDeadline(time.Now().Add(3 * time.Second)) // the default connect_timeout is 5 s
	if _, err := io.Copy(io.Discard, silent); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("a silent connection after the reload was not closed by the new connect_timeout")
	}
	logs := e.logs.String()
	if !hasLogLine(logs, `"key":"rtmp"`, "needs a restart") || hasLogLine(logs, `"key":"routes"`, "needs a restart") {
		t.Fatalf("restart warnings:\n%s", tail(logs, 10))
	}

	for _, bad := range []struct{ file, want string }{
		{"bogus = 1\n[routes]\nchat = \"" + addrA + "\"\n", ":1: unknown key \"bogus\""},
		{"[routes]\nchat = \"elsewhere:1\"\n", "not one of the origins"},
		{"log_level = \"loud\"\n", "log level \"loud\""},
	} {
		writeConfig(bad.file)
		err := e.srv.Reload()
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "nothing changed") {
			t.Fatalf("%q: error %v, want one with %q", bad.file, err, bad.want)
		}
		if got := where(dial(t, e.url("chat"), rtmpclient.Options{})); got != "b" {
			t.Fatalf("%q changed the route: on %s", bad.file, got)
		}
		if zerolog.GlobalLevel() != zerolog.DebugLevel {
			t.Fatalf("%q changed the log level", bad.file)
		}
	}
}

// handshaken is a TCP connection to addr that has done the RTMP handshake and says nothing more.
func handshaken(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := rtmpconn.ClientHandshake(c); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Time{})
	return c
}

// hasLogLine reports whether one line of logs holds every part.
func hasLogLine(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestSIGHUPReloadsEdgeBinary: the built edge turns SIGHUP into a re-read of -config: a changed
// log level is applied, a changed key the command line does not give is logged as needing a
// restart, and the process keeps running.
func TestSIGHUPReloadsEdgeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the edge binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "edge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/edge").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "edge.toml")
	if err := os.WriteFile(path, []byte("log_level = \"info\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-rtmp", "127.0.0.1:0", "-origins", "127.0.0.1:1", "-http", "", "-log-format", "json", "-config", path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs, done, ready := &syncBuffer{}, make(chan struct{}), make(chan map[string]string, 1)
	go func() {
		scanListening(out, logs, []string{"rtmp"}, ready)
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("edge process logs:\n%s", tail(logs.String(), 30))
		}
	})
	select {
	case <-ready:
	case <-done:
		t.Fatal("edge exited")
	case <-time.After(10 * time.Second):
		t.Fatal("edge did not listen")
	}
	conf := "log_level = \"debug\"\nrtmp = \"127.0.0.1:1\"\nfailover = true\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool {
		return hasLogLine(logs.String(), `"applied":["log_level"]`, "config reloaded")
	})
	if l := logs.String(); !hasLogLine(l, `"key":"failover"`, "needs a restart") || strings.Contains(l, `"key":"rtmp"`) {
		t.Fatalf("restart warnings (failover changed, rtmp given on the command line):\n%s", tail(l, 10))
	}
	select {
	case <-done:
		t.Fatal("edge exited on SIGHUP")
	default:
	}
}
