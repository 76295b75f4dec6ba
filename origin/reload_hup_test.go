package origin

import (
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
)

// TestReloadRescansAppsWithoutFileEvents: on a file system without inotify (the origin started
// with apps_events off), Reload — what SIGHUP calls — finds an edited app, a new app folder and
// a removed one: the connected client's next call runs the new code on the same connection, the
// new app serves, and the removed app's client gets NetConnection.Connect.AppShutdown.
func TestReloadRescansAppsWithoutFileEvents(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.AppsEvents = false })
	main := o.writeApp(t, "hot", reloadV1)
	o.writeApp(t, "gone", `application.onConnect = function () { return true; };`)
	c := dial(t, o.url("hot"), rtmpclient.Options{ConnectArgs: []any{"a"}})
	doomed := dial(t, o.url("gone"), rtmpclient.Options{})
	call := func(m string) string {
		v, err := c.Call(ctx5(t), m)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		s, _ := v.(string)
		return s
	}
	if got := call("ver"); got != "v1" {
		t.Fatalf("before: %s", got)
	}

	if err := os.WriteFile(main, []byte(reloadV2), 0o644); err != nil {
		t.Fatal(err)
	}
	o.writeApp(t, "fresh", `Client.prototype.hi = function () { return "fresh"; };`)
	if err := os.RemoveAll(filepath.Join(o.apps, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := o.srv.Reload(); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 5*time.Second, "the new code to answer", func() bool { return call("ver") == "v2" })
	if got := call("who"); got != "a" || c.Err() != nil {
		t.Fatalf("client state after the reload: who=%q err=%v", got, c.Err())
	}
	f := dial(t, o.url("fresh"), rtmpclient.Options{})
	if v, err := f.Call(ctx5(t), "hi"); err != nil || v != "fresh" {
		t.Fatalf("new app: %v %v", v, err)
	}
	awaitAppShutdown(t, doomed, func() {})
	if n := strings.Count(o.logs.String(), "application reloaded"); n != 1 {
		t.Fatalf("%d reloads, want 1 (hot only)", n)
	}
}

// TestReloadUnchangedAppsKeepRunning: a Reload with nothing changed reloads no app (no
// onAppStop, no onReload): a rescan compares the files' contents with what each app was loaded
// from.
func TestReloadUnchangedAppsKeepRunning(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.AppsEvents = false })
	o.writeApp(t, "hot", reloadV1)
	c := dial(t, o.url("hot"), rtmpclient.Options{ConnectArgs: []any{"a"}})
	if err := o.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	// A second app edited after the first Reload proves that the first rescan is over.
	o.writeApp(t, "marker", `Client.prototype.m = function () { return 2; };`)
	m := dial(t, o.url("marker"), rtmpclient.Options{})
	o.writeApp(t, "marker", `Client.prototype.m = function () { return 3; };`)
	if err := o.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the marker app's reload", func() bool {
		v, err := m.Call(ctx5(t), "m")
		return err == nil && v == 3.0
	})
	if logs := o.logs.String(); strings.Count(logs, "application reloaded") != 1 {
		t.Fatalf("unchanged app reloaded:\n%s", tail(logs, 20))
	}
	if v, err := c.Call(ctx5(t), "ver"); err != nil || v != "v1" {
		t.Fatalf("unchanged app: %v %v", v, err)
	}
}

// TestReloadConfig: Reload re-reads the config file: log_level takes effect at once, a changed
// listen address is logged as needing a restart (and the old one keeps serving), and a file
// with an error changes nothing and says where the error is. Not parallel: the log level is the
// process's.
func TestReloadConfig(t *testing.T) {
	was := zerolog.GlobalLevel()
	t.Cleanup(func() { zerolog.SetGlobalLevel(was) })
	zerolog.SetGlobalLevel(zerolog.InfoLevel)
	path := filepath.Join(t.TempDir(), "origin.toml")
	writeConfig := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("log_level = \"info\"\n")
	var given Config
	o := startOriginWith(t, func(c *Config) { given = *c })
	o.srv.SetConfigSource(func() (Config, error) {
		c := given
		return c, config.Load(path, &c)
	})

	writeConfig("log_level = \"debug\"\nrtmp = \"127.0.0.1:1\"\n")
	if err := o.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if zerolog.GlobalLevel() != zerolog.DebugLevel {
		t.Fatalf("log level %v after the reload", zerolog.GlobalLevel())
	}
	logs := o.logs.String()
	if !logLine(logs, `"key":"rtmp"`, "needs a restart") {
		t.Fatalf("rtmp change not logged:\n%s", tail(logs, 10))
	}
	if strings.Contains(logs, `"key":"log_level"`) {
		t.Fatalf("log_level reported as needing a restart:\n%s", tail(logs, 10))
	}
	dial(t, o.url("live"), rtmpclient.Options{}) // the old address still serves, and logs at debug
	waitFor(t, 5*time.Second, "a debug line", func() bool { return strings.Contains(o.logs.String(), `"level":"debug"`) })

	for _, bad := range []struct{ file, want string }{
		{"log_level = \"warn\"\nbogus = 1\n", ":2: unknown key \"bogus\""},
		{"log_level = \"warn\"\nrtmp = \n", "line 2"},
		{"log_level = \"loud\"\n", "log level \"loud\""},
	} {
		writeConfig(bad.file)
		err := o.srv.Reload()
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "nothing changed") {
			t.Fatalf("%q: error %v, want one with %q", bad.file, err, bad.want)
		}
		if zerolog.GlobalLevel() != zerolog.DebugLevel {
			t.Fatalf("%q changed the log level to %v", bad.file, zerolog.GlobalLevel())
		}
	}
}

// logLine reports whether one line of logs holds every part.
func logLine(logs string, parts ...string) bool {
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

// TestSIGHUPReloadsOriginBinary: the built origin, without file events, turns SIGHUP into a
// rescan and a config re-read: the connected client's next call runs the edited code, a changed
// limit in the file is logged as needing a restart, a key the command line overrides is not a
// change, and the process keeps serving.
func TestSIGHUPReloadsOriginBinary(t *testing.T) {
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
	main := (&testOrigin{apps: apps}).writeApp(t, "hot", reloadV1)
	cfgFile := filepath.Join(t.TempDir(), "origin.toml")
	if err := os.WriteFile(cfgFile, []byte("log_level = \"info\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := runOriginProcess(t, bin, apps, data, "-apps-events=false", "-config", cfgFile)
	c := dial(t, o.url("hot"), rtmpclient.Options{ConnectArgs: []any{"a"}})
	if v, err := c.Call(ctx5(t), "ver"); err != nil || v != "v1" {
		t.Fatalf("before: %v %v", v, err)
	}
	if err := os.WriteFile(main, []byte(reloadV2), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := "log_level = \"info\"\nrtmp = \"127.0.0.1:1\"\n[limits]\nmax_connections = 50\n"
	if err := os.WriteFile(cfgFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new code to answer", func() bool {
		v, err := c.Call(ctx5(t), "ver")
		return err == nil && v == "v2"
	})
	waitFor(t, 5*time.Second, "the restart warning", func() bool {
		return logLine(o.logs.String(), `"key":"limits.max_connections"`, "needs a restart")
	})
	if logs := o.logs.String(); strings.Contains(logs, `"key":"rtmp"`) {
		t.Fatalf("rtmp, given on the command line, reported as changed:\n%s", tail(logs, 10))
	}
	select {
	case <-o.done:
		t.Fatalf("origin exited on SIGHUP:\n%s", tail(o.logs.String(), 10))
	default:
	}
	if v, err := c.Call(ctx5(t), "who"); err != nil || v != "a" {
		t.Fatalf("client after SIGHUP: %v %v", v, err)
	}
}

// TestReloadAppliesConnectionLimits: limits each new client connection copies (here
// connect_timeout) apply to the connections made after a reload, while inbound_buffer_bytes —
// one budget shared by every connection — is logged as needing a restart and the budget stays.
func TestReloadAppliesConnectionLimits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "origin.toml")
	var given Config
	o := startOriginWith(t, func(c *Config) { given = *c })
	o.srv.SetConfigSource(func() (Config, error) {
		c := given
		return c, config.Load(path, &c)
	})
	budget := o.srv.cfg.Limits.Conn.InboundBudget
	conf := "[limits]\nconnect_timeout = \"300ms\"\ninbound_buffer_bytes = 1048576\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	silent := rawConn(t, o.addr, true)
	expectClosed(t, silent, 3*time.Second) // the default is 5 s
	if !logLine(o.logs.String(), `"key":"limits.inbound_buffer_bytes"`, "needs a restart") {
		t.Fatalf("inbound_buffer_bytes change not logged:\n%s", tail(o.logs.String(), 10))
	}
	if got := o.srv.conn.Load().InboundBudget; got != budget || got.Limit() != budget.Limit() {
		t.Fatalf("inbound budget replaced: %p (%d), was %p (%d)", got, got.Limit(), budget, budget.Limit())
	}
	c := dial(t, o.url("live"), rtmpclient.Options{}) // a prompt client is served
	if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatal(err)
	}
}

// TestNewAppServedWithoutReload: an app folder written after the start and connected to at once
// (before its file events are reported) is not reloaded when they are: its only instance already
// runs that code, so a timer its first client started keeps running.
func TestNewAppServedWithoutReload(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "fresh", `
var ticks = 0;
application.onConnect = function (client) {
	if (!application.timer) { application.timer = setInterval(function () { ticks++; }, 5); }
	return true;
};
Client.prototype.ticks = function () { return ticks; };
`)
	c := dial(t, o.url("fresh"), rtmpclient.Options{})
	o.writeApp(t, "marker", `Client.prototype.m = function () { return 1; };`)
	waitFor(t, 5*time.Second, "the marker app's report", func() bool {
		return logLine(o.logs.String(), `"app":"marker"`, `"message":"new app"`)
	})
	waitFor(t, 5*time.Second, "the timer to tick", func() bool {
		v, err := c.Call(ctx5(t), "ticks")
		return err == nil && v.(float64) > 0
	})
	if strings.Contains(o.logs.String(), "application reloaded") {
		t.Fatalf("the new app was reloaded into the code it runs:\n%s", tail(o.logs.String(), 20))
	}
}
