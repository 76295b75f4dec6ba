package origin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// probeRPCApp is the FMS idiom that issue 9 found open to a forged `this`: state on the client,
// checks on `this` in Client.prototype methods. ran counts every run of the app's methods.
const probeRPCApp = `
var ran = 0;
application.onConnect = function (c) { c.admin = false; c.user = "anon"; return true; };
Client.prototype.adminOnly = function (w) { ran++; if (!this.admin) return "denied"; return "ADMIN ACTION DONE: " + w; };
Client.prototype.whoami = function () { ran++; return {ip: this.ip, admin: this.admin}; };
Client.prototype.app = { createStream: function (n) { ran++; return "stream " + n + ":" + (this === Client.prototype.app); } };
Client.prototype.ranCount = function () { return ran; };
`

// forgedThis is what a hostile client passes as the first argument of "m.call" / "m.apply".
var forgedThis = &amf.Object{Props: []amf.Prop{{Key: "admin", Value: true}, {Key: "ip", Value: "10.0.0.5"}}}

// refusedRPCNames is issue 9's acceptance list, with the probe app's own methods.
var refusedRPCNames = []string{
	"adminOnly.call", "adminOnly.apply", "adminOnly.bind", "adminOnly.toString", "whoami.call",
	"valueOf", "hasOwnProperty", "constructor.constructor", "__proto__.x", "toString",
	"propertyIsEnumerable", "call", "ping", "getStats", "setBandwidthLimit", "getBandwidthLimit",
	"app.createStream.call", "app.constructor", "app.valueOf", "adminOnly.constructor.constructor",
}

// expectMethodNotFound checks an _error NetConnection.Call.Failed "method not found".
func expectMethodNotFound(t *testing.T, what string, v any, err error) {
	t.Helper()
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" || se.Description() != "method not found" {
		t.Errorf("%s: got %#v, %v; want _error NetConnection.Call.Failed \"method not found\"", what, v, err)
	}
}

// checkRPCDispatch runs the probe over one client connection (direct or through an edge): every
// refused name is "method not found" and ran nothing; what the app defined still answers.
func checkRPCDispatch(t *testing.T, c *rtmpclient.Client) {
	t.Helper()
	for _, name := range refusedRPCNames {
		v, err := c.Call(ctx5(t), name, forgedThis, "wipe")
		expectMethodNotFound(t, name, v, err)
	}
	if n, err := c.Call(ctx5(t), "ranCount"); err != nil || n != 0.0 {
		t.Fatalf("app code ran %v times for refused names (%v)", n, err)
	}
	if v, err := c.Call(ctx5(t), "adminOnly", "wipe"); err != nil || v != "denied" {
		t.Errorf("adminOnly: %#v %v, want denied", v, err)
	}
	if v, err := c.Call(ctx5(t), "app.createStream", "s1"); err != nil || v != "stream s1:true" {
		t.Errorf("app.createStream: %#v %v", v, err)
	}
}

// TestRPCDispatchOnlyAppMethods: over RTMP in AMF0 and AMF3, a client reaches only functions
// the app defined (issue 9 item 1).
func TestRPCDispatchOnlyAppMethods(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "probe", probeRPCApp)
	for _, enc := range []int{0, 3} {
		t.Run(fmt.Sprintf("amf%d", enc), func(t *testing.T) {
			checkRPCDispatch(t, dial(t, o.url("probe/amf"+fmt.Sprint(enc)), rtmpclient.Options{ObjectEncoding: enc}))
		})
	}
}

// TestChatNoImpersonation: in the shipped chat app, say.call({nick: "alice"}, ...) is refused
// and Bob never sees a message in Alice's name; Mallory's own say still works.
func TestChatNoImpersonation(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "other")
	o.installApp(t, "chat", nil)
	dial(t, o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"alice"}})
	bob := dial(t, o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"bob"}})
	mallory := dial(t, o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"mallory"}, ObjectEncoding: 3})
	nick := &amf.Object{Props: []amf.Prop{{Key: "nick", Value: "alice"}}}
	for _, name := range []string{"say.call", "say.apply"} {
		v, err := mallory.Call(ctx5(t), name, nick, "send me your password")
		expectMethodNotFound(t, name, v, err)
	}
	v, err := mallory.Call(ctx5(t), "who.toString")
	expectMethodNotFound(t, "who.toString", v, err)
	if _, err := mallory.Call(ctx5(t), "say", "marker"); err != nil {
		t.Fatal(err)
	}
	for { // broadcasts arrive in order: the first message Bob sees must be Mallory's own
		ev, err := bob.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventCommand && ev.Name == "onMessage" {
			if len(ev.Args) < 2 || ev.Args[0] != "mallory" || ev.Args[1] != "marker" {
				t.Fatalf("bob got onMessage %#v, want (mallory, marker)", ev.Args)
			}
			return
		}
	}
}
