package origin

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestClientPanicClosesOnlyThatConnection: a panic while a direct client's command is handled
// closes that client's connection, with the panic and its stack logged at error level; another
// client keeps calling, and new clients still connect to the same instance.
func TestClientPanicClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	hooks := &clientHooks{command: func(name string) {
		if name == "boom" {
			var m map[string]int
			m["x"]++ // a real bug: assignment to a nil map
		}
	}}
	o := startOriginWith(t, func(c *Config) { c.clientHooks = hooks })
	bad := dial(t, o.url("live"), rtmpclient.Options{})
	good := dial(t, o.url("live"), rtmpclient.Options{})
	if _, err := bad.Call(ctx5(t), "boom"); err == nil {
		t.Fatal("the call that panicked was answered")
	}
	select {
	case <-bad.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection whose handler panicked is still open")
	}
	for i := range 3 {
		if _, err := good.Call(ctx5(t), "_checkbw"); err != nil {
			t.Fatalf("other client, call %d: %v", i, err)
		}
	}
	late := dial(t, o.url("live"), rtmpclient.Options{})
	if _, err := late.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatalf("a client connecting after the panic: %v", err)
	}
	waitFor(t, 5*time.Second, "the panic's log line", func() bool {
		return strings.Contains(o.logs.String(), "panic while serving the connection")
	})
	logs := o.logs.String()
	for _, want := range []string{`"level":"error"`, "assignment to entry in nil map", "origin.(*direct).HandleCommand"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}
