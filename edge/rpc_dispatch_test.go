package edge

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// probeRPCApp: state on the client, checks on `this` (the FMS idiom issue 9 found open to a
// forged `this`); ran counts every run of the app's methods.
const probeRPCApp = `
var ran = 0;
application.onConnect = function (c) { c.admin = false; return true; };
Client.prototype.adminOnly = function (w) { ran++; if (!this.admin) return "denied"; return "ADMIN ACTION DONE: " + w; };
Client.prototype.app = { createStream: function (n) { ran++; return "stream " + n + ":" + (this === Client.prototype.app); } };
Client.prototype.ranCount = function () { return ran; };
var marker = 0, so = SharedObject.get("room");
so.hello = function () { marker++; };
Client.prototype.markerCount = function () { return marker; };
`

// TestRPCDispatchThroughEdge: an edge client, AMF0 and AMF3, reaches only functions the app
// defined; the refused names are "method not found" and ran nothing on the origin.
func TestRPCDispatchThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"probe": probeRPCApp})
	e := startEdge(t, testSecret, o)
	forged := &amf.Object{Props: []amf.Prop{{Key: "admin", Value: true}, {Key: "ip", Value: "10.0.0.5"}}}
	names := []string{"adminOnly.call", "adminOnly.apply", "adminOnly.bind", "adminOnly.toString", "valueOf",
		"hasOwnProperty", "constructor.constructor", "__proto__.x", "toString", "propertyIsEnumerable",
		"call", "ping", "getStats", "setBandwidthLimit", "getBandwidthLimit", "app.createStream.call"}
	for _, enc := range []int{0, 3} {
		t.Run(fmt.Sprint("amf", enc), func(t *testing.T) {
			c := dial(t, e.url(fmt.Sprint("probe/amf", enc)), rtmpclient.Options{ObjectEncoding: enc})
			for _, name := range names {
				v, err := c.Call(ctx5(t), name, forged, "wipe")
				var se *rtmpclient.StatusError
				if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" || se.Description() != "method not found" {
					t.Errorf("%s: %#v %v, want _error NetConnection.Call.Failed \"method not found\"", name, v, err)
				}
			}
			if n, err := c.Call(ctx5(t), "ranCount"); err != nil || n != 0.0 {
				t.Fatalf("app code ran %v times for refused names (%v)", n, err)
			}
			if v, err := c.Call(ctx5(t), "adminOnly", "wipe"); err != nil || v != "denied" {
				t.Errorf("adminOnly: %#v %v", v, err)
			}
			if v, err := c.Call(ctx5(t), "app.createStream", "s"); err != nil || v != "stream s:true" {
				t.Errorf("app.createStream: %#v %v", v, err)
			}
		})
	}
}

// TestSOSendDispatchThroughEdge: an edge client's so.send reaches the server copy's handler the
// script set (so.hello), never Object.prototype's members or the SharedObject API.
func TestSOSendDispatchThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, testSecret, map[string]string{"probe": probeRPCApp})
	e := startEdge(t, testSecret, o)
	p := dialSO(t, e.url("probe"), "edge client", true)
	p.use(ctx5(t), "room", false)
	for _, name := range []string{"valueOf", "toString", "constructor", "__proto__", "version", "clear", "hello.call"} {
		p.send("room", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: name, Args: []any{"x"}})
	}
	p.send("room", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello"})
	for i := 0; ; i++ { // handled in order: once hello has run, every refused name before it has
		if n, err := p.c.Call(ctx5(t), "markerCount"); err == nil && n == 1.0 {
			break
		} else if i == 200 {
			t.Fatalf("so.hello never ran (%v %v)", n, err)
		}
	}
	if n, err := p.c.Call(ctx5(t), "ranCount"); err != nil || n != 0.0 {
		t.Fatalf("app code ran %v times for refused send names (%v)", n, err)
	}
	if strings.Contains(o.logs.String(), "threw") || strings.Contains(o.logs.String(), "js error") {
		t.Fatalf("a refused send name reached a host function:\n%s", o.logs.String())
	}
}
