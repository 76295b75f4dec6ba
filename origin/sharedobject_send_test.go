package origin

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestServerSendReachesServerCopy: so.send from the server calls the server copy's handler of
// that name too, as FMS does (and every subscriber's).
func TestServerSendReachesServerCopy(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "sosend", `
var so;
application.onAppStart = function () {
	so = SharedObject.get("room");
	so.ping = function (x) { trace("server copy got " + x); };
};
Client.prototype.fire = function () { so.send("ping", "hello"); return true; };
`)
	c := dial(t, o.url("sosend"), rtmpclient.Options{})
	if v, err := c.Call(ctx5(t), "fire"); err != nil || v != true {
		t.Fatalf("fire: %v %v", v, err)
	}
	waitFor(t, 5*time.Second, "the server copy's handler", func() bool { return strings.Contains(o.logs.String(), "server copy got hello") })
}
