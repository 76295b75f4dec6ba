package edge

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// TestEdgeSessionPanicClosesOnlyThatClient (issue 9 item 10): a panic in the edge's handling of
// one trunk session (here while relaying an answer from the origin) closes that client, with
// the stack logged; another client of the same trunk goes on calling.
func TestEdgeSessionPanicClosesOnlyThatClient(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"who": whoApp})
	hooks := &edgeHooks{sessionFrame: func(f trunk.Frame) {
		if f.Kind == trunk.KindSessionMessage && bytes.Contains(f.Body, []byte("boom")) {
			panic("relay bug")
		}
	}}
	e := startEdgeWith(t, func(c *Config) { c.TrunkSecret, c.hooks = testSecret, hooks }, o)
	victim, err := rtmpclient.Dial(ctx5(t), e.url("who"), rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	other, err := rtmpclient.Dial(ctx5(t), e.url("who"), rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := victim.Call(ctx5(t), "echo", "boom"); err == nil {
		t.Fatal("the call whose answer panicked the relay was answered")
	}
	select {
	case <-victim.Done():
	case <-ctx5(t).Done():
		t.Fatal("the client whose session panicked is still connected")
	}
	if v, err := other.Call(ctx5(t), "echo", "still here"); err != nil || v != "still here" {
		t.Fatalf("other client after the panic: %v %v", v, err)
	}
	if l := e.logs.String(); !strings.Contains(l, "session handler panicked") || !strings.Contains(l, "trunk_panic_test.go") {
		t.Fatalf("no stack logged:\n%s", tail(l, 20))
	}
}
