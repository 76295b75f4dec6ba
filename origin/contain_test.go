package origin

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

const bombApp = `
application.onConnect = function () { return true; };
Client.prototype.ok = function () { return "ok"; };
Client.prototype.spin = function () { try { while (true) {} } catch (e) { return "caught"; } };
Client.prototype.recurse = function () { function f() { return f() + 1; } return f(); };
Client.prototype.repeat = function () { try { 'x'.repeat(1e9); return "no error"; } catch (e) { return e.name; } };
Client.prototype.grow = function () { var a = [], s = "x"; for (var i = 0; ; i++) { s = s + s + i; a.push(s); } };
Client.prototype.spinLater = function () { setTimeout(function () { while (true) {} }, 1); return "armed"; };
`

// TestRunawayCodeIsContained: runaway loops, recursion and allocation bombs in app code are
// interrupted or refused; an instance that blows its memory limit is unloaded (its clients get
// AppShutdown) while other instances keep working, and the next connect starts it afresh.
func TestRunawayCodeIsContained(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	main := o.writeApp(t, "bomb", bombApp)
	if err := os.WriteFile(filepath.Join(filepath.Dir(main), "app.json"), []byte(`{"handlerTimeoutMs": 200, "memoryLimitMB": 64}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := dial(t, o.url("bomb/a"), rtmpclient.Options{})
	other := dial(t, o.url("bomb/b"), rtmpclient.Options{})
	failed := func(m string) {
		t.Helper()
		start := time.Now()
		_, err := c.Call(ctx5(t), m)
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" {
			t.Fatalf("%s: want Call.Failed, got %v", m, err)
		}
		t.Logf("%s answered with Call.Failed after %v", m, time.Since(start))
		if v, err := c.Call(ctx5(t), "ok"); err != nil || v != "ok" {
			t.Fatalf("instance not usable after %s: %v %v", m, v, err)
		}
	}
	failed("spin")    // while(true) inside try/catch: the interrupt is not catchable
	failed("recurse") // stack overflow: an error, not a crash
	if v, err := c.Call(ctx5(t), "repeat"); err != nil || v != "RangeError" {
		t.Fatalf("'x'.repeat(1e9): %v %v", v, err)
	}
	if v, _ := c.Call(ctx5(t), "spinLater"); v != "armed" {
		t.Fatal(v)
	}
	if v, err := c.Call(ctx5(t), "ok"); err != nil || v != "ok" { // the timer was interrupted too
		t.Fatalf("after a runaway timer: %v %v", v, err)
	}

	// The memory bomb runs in an app of its own with a generous handler budget, so that the
	// memory limit, not the watchdog, is what stops it even on a slow machine.
	gmain := o.writeApp(t, "grow", bombApp)
	if err := os.WriteFile(filepath.Join(filepath.Dir(gmain), "app.json"), []byte(`{"handlerTimeoutMs": 30000, "memoryLimitMB": 64}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g := dial(t, o.url("grow/a"), rtmpclient.Options{})
	_, _ = g.Call(ctx5(t), "grow") // the instance is unloaded for memory
	for {
		ev, err := g.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("no AppShutdown: %v", err)
		}
		if ev.Kind == rtmpclient.EventStatus && ev.Info.String("code") == "NetConnection.Connect.AppShutdown" {
			break
		}
	}
	if v, err := other.Call(ctx5(t), "ok"); err != nil || v != "ok" {
		t.Fatalf("another instance was affected: %v %v", v, err)
	}
	again := dial(t, o.url("grow/a"), rtmpclient.Options{})
	if v, err := again.Call(ctx5(t), "ok"); err != nil || v != "ok" {
		t.Fatalf("instance did not restart: %v %v", v, err)
	}
}
