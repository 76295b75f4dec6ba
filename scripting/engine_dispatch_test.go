package scripting

import (
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// dispatchApp counts every run of its own code (ran), so that a test can tell that a refused
// call name ran nothing; its legitimate shared-object handlers count marker instead.
const dispatchApp = `
var ran = 0, marker = 0;
application.onConnect = function (c) { c.admin = false; c.mine = function () { ran++; return "mine"; }; return true; };
Client.prototype.adminOnly = function (w) { ran++; if (!this.admin) return "denied"; return "ADMIN " + w; };
Client.prototype.m = function () { ran++; return "m"; };
Client.prototype.ranCount = function () { return ran; };
Client.prototype.markerCount = function () { return marker; };
Client.prototype.boom = function () { throw new Error("internal detail: db password is hunter2"); };
Client.prototype.rejects = function () { return Promise.reject(new Error("secret reason")); };
var so = SharedObject.get("room");
so.hello = function (x) { marker++; };
SharedObject.prototype.greet = function () { marker++; };
`

// TestCallRefusedNames: issue 9's acceptance list (and the host methods of Client.prototype)
// answer _error NetConnection.Call.Failed "method not found", and no app code ran.
func TestCallRefusedNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"d/main.js": dispatchApp})
	f, c := h.accepted("d")
	forged := &amf.Object{Props: []amf.Prop{{Key: "admin", Value: true}}}
	names := []string{"m.call", "m.apply", "m.bind", "m.toString", "valueOf", "hasOwnProperty",
		"constructor.constructor", "__proto__.x", "toString", "propertyIsEnumerable", "call", "ping",
		"getStats", "setBandwidthLimit", "getBandwidthLimit", "adminOnly.call", "mine.call", "__resolve"}
	for _, name := range names {
		ev := h.call(f, c, name, forged, "wipe")
		if ev.kind != "error" || statusCode(t, ev.info) != "NetConnection.Call.Failed" || ev.info.String("description") != "method not found" {
			t.Errorf("%s: %s %v, want _error Call.Failed \"method not found\"", name, ev.kind, ev.info)
		}
	}
	if n := h.result(f, c, "ranCount"); n != 0.0 {
		t.Fatalf("app code ran %v times for refused names", n)
	}
	for name, want := range map[string]any{"adminOnly": "denied", "mine": "mine", "m": "m"} {
		if got := h.result(f, c, name, "w"); got != want {
			t.Errorf("%s: %#v, want %#v", name, got, want)
		}
	}
}

// TestSOSendRefusedNames: a client's so.send reaches only handlers the script set (so.NAME,
// SharedObject.prototype.NAME), never Object.prototype's members, the SharedObject API or its
// accessors.
func TestSOSendRefusedNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"d/main.js": dispatchApp})
	f, c := h.accepted("d")
	rec := &soRec{t: t, id: f.id}
	soSend(t, c, rec, "room", false, 0, soUse)
	for _, name := range []string{"valueOf", "toString", "hasOwnProperty", "constructor", "__proto__",
		"version", "name", "isDirty", "resyncDepth", "clear", "close", "setProperty", "hello.call"} {
		soSend(t, c, rec, "room", false, 0, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: name, Args: []any{"x"}})
	}
	// Messages are handled in order: once the legitimate handler has run, so have the refused
	// names before it, and the count says whether any of them ran app code.
	soSend(t, c, rec, "room", false, 0, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello", Args: []any{"x"}})
	awaitMarker(h, f, c, 1)
	if n := h.result(f, c, "ranCount"); n != 0.0 {
		t.Fatalf("app code ran %v times for refused send names", n)
	}
	if strings.Contains(h.log.String(), "shared object handler threw") {
		t.Fatalf("a refused send name reached a host accessor:\n%s", h.log.String())
	}
	soSend(t, c, rec, "room", false, 0, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "greet"})
	awaitMarker(h, f, c, 2)
}

// awaitMarker calls markerCount until it reaches want (each call is a loop round trip, so the
// shared-object callbacks posted before it get their turn).
func awaitMarker(h *harness, f *fakeSession, c *Client, want float64) {
	h.t.Helper()
	var n any
	for range 200 {
		if n = h.result(f, c, "markerCount"); n == want {
			return
		}
	}
	h.t.Fatalf("the legitimate handlers ran %v times, want %v", n, want)
}

// TestCallErrorIsGeneric: a throw or a rejection in an RPC handler reaches the client as
// "server error" while application.allowDebug is false (the text is in the server log), and
// as its text when it is true.
func TestCallErrorIsGeneric(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"d/main.js": dispatchApp,
		"dbg/main.js": dispatchApp + "application.allowDebug = true;\n"})
	f, c := h.accepted("d")
	for _, name := range []string{"boom", "rejects"} {
		ev := h.call(f, c, name)
		if ev.kind != "error" || statusCode(t, ev.info) != "NetConnection.Call.Failed" || ev.info.String("description") != "server error" {
			t.Errorf("%s: %s %v, want _error Call.Failed \"server error\"", name, ev.kind, ev.info)
		}
	}
	h.awaitLog("db password is hunter2")
	h.awaitLog("secret reason")
	fd, cd := h.accepted("dbg")
	for name, want := range map[string]string{"boom": "db password is hunter2", "rejects": "secret reason"} {
		ev := h.call(fd, cd, name)
		if ev.kind != "error" || !strings.Contains(ev.info.String("description"), want) {
			t.Errorf("%s with allowDebug: %s %v, want the error text", name, ev.kind, ev.info)
		}
	}
}
