package origin

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// boomApp throws errors whose text must not reach clients unless application.allowDebug is set.
const boomApp = `
Client.prototype.boom = function () { throw new Error("internal detail: db password is hunter2"); };
Client.prototype.later = function () { return Promise.reject(new Error("rejected: token TOPSECRET")); };
application.onPublish = function (c, s) { throw new Error("publish check: key s3cret"); };
`

// TestJSErrorsAreGenericForClients: a throw in an RPC handler, a rejected promise and a throw
// in onPublish reach the client as a generic description ("server error") with the usual code,
// the text and stack only in the server log; with application.allowDebug = true the client
// gets the error's text (issue 9 item 9). AMF0 and AMF3.
func TestJSErrorsAreGenericForClients(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "boom", boomApp)
	o.writeApp(t, "boomdbg", boomApp+"application.allowDebug = true;\n")
	secrets := map[string]string{"boom": "hunter2", "later": "TOPSECRET"}
	for _, enc := range []int{0, 3} {
		t.Run(fmt.Sprint("amf", enc), func(t *testing.T) {
			quiet := dial(t, o.url("boom"), rtmpclient.Options{ObjectEncoding: enc})
			debug := dial(t, o.url("boomdbg"), rtmpclient.Options{ObjectEncoding: enc})
			for method, secret := range secrets {
				_, err := quiet.Call(ctx5(t), method)
				var se *rtmpclient.StatusError
				if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" || se.Description() != "server error" {
					t.Errorf("%s: %v, want _error NetConnection.Call.Failed \"server error\"", method, err)
				}
				_, err = debug.Call(ctx5(t), method)
				if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" || !strings.Contains(se.Description(), secret) {
					t.Errorf("%s with allowDebug: %v, want the error text", method, err)
				}
				if !strings.Contains(o.logs.String(), secret) {
					t.Errorf("%s: the error text is not in the server log", method)
				}
			}
			for app, want := range map[string]string{"boom": "", "boomdbg": "s3cret"} {
				c := dial(t, o.url(app), rtmpclient.Options{ObjectEncoding: enc})
				sid, err := c.CreateStream(ctx5(t))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Publish(ctx5(t), sid, "x", "live")
				var se *rtmpclient.StatusError
				if !errors.As(err, &se) || se.Code() != "NetStream.Publish.BadName" {
					t.Fatalf("%s publish: %v", app, err)
				}
				if d := se.Description(); want == "" && d != "server error" || want != "" && !strings.Contains(d, want) {
					t.Errorf("%s publish refused with description %q", app, d)
				}
			}
		})
	}
}
