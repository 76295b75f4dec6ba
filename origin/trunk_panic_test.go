package origin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// TestTrunkPanicClosesOnlyThatSession (issue 9 item 10): a panic in an edge session's command
// handler closes that session (session-close code 11, the stack in the log); a panic while the
// read goroutine handles a subscribe ends that channel only; the trunk and its other sessions
// go on.
func TestTrunkPanicClosesOnlyThatSession(t *testing.T) {
	t.Parallel()
	hooks := &serverHooks{
		trunkCommand: func(name string) {
			if name == "boom" {
				panic("command handler bug")
			}
		},
		trunkFrame: func(k trunk.Kind) {
			if k == trunk.KindStreamSubscribe {
				panic("subscribe handler bug")
			}
		},
	}
	o := startOriginWith(t, func(c *Config) { c.Trunk, c.TrunkSecret, c.hooks = "127.0.0.1:0", testSecret, hooks }, "live")
	e := dialRawEdge(t, o, testSecret)
	connect := amf0(t, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}}})
	for id := uint32(1); id <= 2; id++ {
		if err := e.conn.Send(id, trunk.SessionOpen{EdgeID: "raw-edge", ClientAddr: "10.1.2.3:5555", Command: connect}); err != nil {
			t.Fatal(err)
		}
		e.until(t, func(f trunk.Frame) bool { return f.Kind == trunk.KindSessionVerdict && f.ID == id })
	}
	command := func(id uint32, name string, txn float64) {
		p := append(append(amf0(t, name), amf0(t, txn)...), amf0(t, nil)...)
		if err := e.conn.SendSession(id, trunk.SessionMessage{Type: 20, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	command(1, "boom", 1)
	f := e.until(t, func(f trunk.Frame) bool { return f.Kind == trunk.KindSessionClose && f.ID == 1 })
	if m, _ := trunk.DecodeSessionClose(f.Body); m.Code != trunk.CodeInternal {
		t.Fatalf("panicked session closed with %+v", m)
	}
	if err := e.conn.Send(30, trunk.StreamSubscribe{App: "live/_definst_", Stream: "x"}); err != nil {
		t.Fatal(err)
	}
	f = e.until(t, func(f trunk.Frame) bool { return f.Kind == trunk.KindStreamStatus && f.ID == 30 })
	if m, _ := trunk.DecodeStreamStatus(f.Body); m.Code != trunk.StreamEnded {
		t.Fatalf("panicked subscribe answered %+v", m)
	}
	command(2, "createStream", 2)
	f = e.until(t, func(f trunk.Frame) bool {
		return f.Kind == trunk.KindSessionMessage && f.ID == 2 && bytes.Contains(f.Body, []byte("_result"))
	})
	logs := o.logs.String()
	for _, want := range []string{"session handler panicked", "command handler bug", "trunk frame handler panicked", "trunk_panic_test.go"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// until reads the origin's frames until want takes one.
func (e *rawEdge) until(t *testing.T, want func(trunk.Frame) bool) trunk.Frame {
	t.Helper()
	for {
		if f := e.next(t); want(f) {
			return f
		}
	}
}
