package edge

import (
	"errors"
	"fmt"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// probeRPCApp: state on the client, checks on `this` (the FMS idiom issue 9 found open to a
// forged `this`); ran counts every run of the app's methods.
const probeRPCApp = `
var ran = 0;
application.onConnect = function (c) { c.admin = false; return true; };
Client.prototype.adminOnly = function (w) { ran++; if (!this.admin) return "denied"; return "ADMIN ACTION DONE: " + w; };
Client.prototype.app = { createStream: function (n) { ran++; return "stream " + n + ":" + (this === Client.prototype.app); } };
Client.prototype.ranCount = function () { return ran; };
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
