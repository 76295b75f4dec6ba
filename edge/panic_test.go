package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestEdgeClientPanicClosesOnlyThatConnection: a panic in an edge client's session handler
// closes that client, with its stack logged at error level; another client of the same instance
// through the same edge keeps calling.
func TestEdgeClientPanicClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	hooks := &clientHooks{command: func(name string) {
		if name == "boom" {
			var m map[string]int
			m["x"]++ // a real bug: assignment to a nil map
		}
	}}
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdgeWith(t, func(c *Config) { c.clientHooks = hooks }, o)
	bad := dial(t, e.url("live"), rtmpclient.Options{})
	good := dial(t, e.url("live"), rtmpclient.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bad.Call(ctx, "boom"); err == nil {
		t.Fatal("the call that panicked was answered")
	}
	select {
	case <-bad.Done():
	case <-ctx.Done():
		t.Fatal("the connection whose handler panicked is still open")
	}
	for i := range 3 {
		if _, err := good.Call(ctx, "_checkbw"); err != nil {
			t.Fatalf("other client, call %d: %v", i, err)
		}
	}
	waitFor(t, "the panic's log line", func() bool {
		return strings.Contains(e.logs.String(), "panic while serving the connection")
	})
	logs := e.logs.String()
	for _, want := range []string{`"level":"error"`, "assignment to entry in nil map", "edge.(*clientSession).HandleCommand"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}
