package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// writeAppJSON writes an app's app.json next to its main.js.
func (o *testOrigin) writeAppJSON(t testing.TB, name, js string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(o.apps, name, "app.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dialRefused connects and wants a rejection with code whose description contains want.
func dialRefused(t testing.TB, url string, opt rtmpclient.Options, code, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, url, opt)
	if err == nil {
		c.Close()
		t.Fatalf("%s: connected, want %s (%q)", url, code, want)
	}
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != code || !strings.Contains(se.Description(), want) {
		t.Fatalf("%s: want %s containing %q, got %v", url, code, want, err)
	}
}

// fromAddr dials from the loopback address ip (127.0.0.x).
func fromAddr(ip string) rtmpclient.Options {
	return rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}

const acceptAll = `application.onConnect = function () { return true; };
Client.prototype.ok = function () { return "ok"; };`

// TestInstanceCapsRefuse: one client creating capped/i0..iN past the app's maxInstances is
// refused with Connect.Rejected saying why, and the instance count stays at the cap; the
// process-wide cap refuses the same way across apps. Connects to running instances still pass.
func TestInstanceCapsRefuse(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) {
		c.Limits.MaxInstances, c.Limits.InstanceCreateRate = 8, -1
	})
	o.writeApp(t, "capped", acceptAll)
	o.writeAppJSON(t, "capped", `{"maxInstances": 5}`)
	o.writeApp(t, "other", acceptAll)
	for i := 0; i < 5; i++ {
		dial(t, o.url(fmt.Sprintf("capped/i%d", i)), rtmpclient.Options{})
	}
	for i := 5; i < 12; i++ {
		dialRefused(t, o.url(fmt.Sprintf("capped/i%d", i)), rtmpclient.Options{},
			"NetConnection.Connect.Rejected", "application capped runs its maximum of 5 instances")
	}
	if n := o.srv.engine.Instances("capped"); n != 5 {
		t.Fatalf("capped has %d instances, want the cap 5", n)
	}
	c := dial(t, o.url("capped/i3"), rtmpclient.Options{}) // a running instance is not a new one
	if v, err := c.Call(ctx5(t), "ok"); err != nil || v != "ok" {
		t.Fatalf("call on a running instance: %v %v", v, err)
	}
	for i := 0; i < 3; i++ {
		dial(t, o.url(fmt.Sprintf("other/i%d", i)), rtmpclient.Options{})
	}
	dialRefused(t, o.url("other/i3"), rtmpclient.Options{}, "NetConnection.Connect.Rejected",
		"the server runs its maximum of 8 application instances")
	if n := o.srv.engine.Instances(""); n != 8 {
		t.Fatalf("%d instances in all, want the cap 8", n)
	}
	var b strings.Builder
	admin.WriteText(&b, o.srv.Metrics())
	for _, want := range []string{"fmsgo_app_instances 8\n", "fmsgo_app_instances_refused_total 8\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestRejectedConnectsLeaveNoInstance: an app that rejects every connect (chat without a
// nickname), at once or after a pending verdict, keeps no instance loaded once the connects are
// over, instead of keeping each for idleUnloadSeconds; onConnectReject still runs first.
func TestRejectedConnectsLeaveNoInstance(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "rej", `
application.onConnect = function (c, nick) {
	if (nick === "later") { var app = this; setTimeout(function () { app.rejectConnection(c); }, 20); return; }
	return false;
};
application.onConnectReject = function () { trace("onConnectReject ran"); };`)
	for i := 0; i < 10; i++ {
		opt := rtmpclient.Options{}
		if i%2 == 1 {
			opt.ConnectArgs = []any{"later"}
		}
		dialRefused(t, o.url(fmt.Sprintf("rej/r%d", i)), opt, "NetConnection.Connect.Rejected", "rejected")
	}
	waitFor(t, 10*time.Second, "rejected instances unloaded", func() bool { return o.srv.engine.Instances("rej") == 0 })
	if !strings.Contains(o.logs.String(), "onConnectReject ran") {
		t.Fatal("onConnectReject did not run before the unload")
	}
	// An instance that accepted a client stays loaded after it leaves (idleUnloadSeconds).
	o.writeApp(t, "kept", acceptAll)
	dial(t, o.url("kept/a"), rtmpclient.Options{}).Close()
	if n := o.srv.engine.Instances("kept"); n != 1 {
		t.Fatalf("kept/a: %d instances", n)
	}
}

// TestInstanceCreateRatePerAddress: one address spraying new instance names is refused past its
// burst, while another address (127.0.0.2) still starts new instances and the flooding address
// still joins running ones.
func TestInstanceCreateRatePerAddress(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) {
		c.Limits.InstanceCreateRate, c.Limits.InstanceCreateBurst = 0.001, 3 // no refill within the test
	})
	o.writeApp(t, "live", acceptAll)
	flood := fromAddr("127.0.0.1")
	for i := 0; i < 3; i++ {
		dial(t, o.url(fmt.Sprintf("live/f%d", i)), flood)
	}
	for i := 3; i < 8; i++ {
		dialRefused(t, o.url(fmt.Sprintf("live/f%d", i)), flood, "NetConnection.Connect.Rejected",
			"too many new instances from this address")
	}
	dial(t, o.url("live/f1"), flood) // joins a running instance: no new one
	other := fromAddr("127.0.0.2")
	for i := 0; i < 3; i++ {
		c := dial(t, o.url(fmt.Sprintf("live/g%d", i)), other)
		if v, err := c.Call(ctx5(t), "ok"); err != nil || v != "ok" {
			t.Fatalf("127.0.0.2: %v %v", v, err)
		}
	}
	if n := o.srv.engine.Instances("live"); n != 6 {
		t.Fatalf("%d instances, want 6", n)
	}
}

// TestInstancePatternAndNameLength: app.json instancePattern must match the whole instance name
// (else Connect.Rejected), and APP/INSTANCE longer than 255 bytes is InvalidApp.
func TestInstancePatternAndNameLength(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "pat", acceptAll)
	o.writeAppJSON(t, "pat", `{"instancePattern": "room[0-9]{1,3}"}`)
	dial(t, o.url("pat/room12"), rtmpclient.Options{})
	for _, name := range []string{"pat/lobby", "pat/room1234", "pat/xroom1", "pat/room1/x", "pat"} {
		dialRefused(t, o.url(name), rtmpclient.Options{}, "NetConnection.Connect.Rejected", "is not allowed by application pat")
	}
	o.writeApp(t, "live", acceptAll)
	seg := strings.Repeat("a", 128)
	long := "live/" + seg + "/" + strings.Repeat("b", 255-len("live/")-len(seg)-1) // exactly 255
	dial(t, o.url(long), rtmpclient.Options{})
	dialRefused(t, o.url(long+"b"), rtmpclient.Options{}, "NetConnection.Connect.InvalidApp", "Invalid application name")
	if n := o.srv.engine.Instances(""); n != 2 {
		t.Fatalf("%d instances, want 2", n)
	}
}

// TestIdleInstancesMakeRoomAtCap: at the cap, a new instance name unloads the instance idle the
// longest (it served clients, all gone) instead of being refused, so that instances a client
// made and left do not lock an app out of new ones for idleUnloadSeconds; instances with clients
// are never unloaded for room, and with none idle the cap refuses.
func TestIdleInstancesMakeRoomAtCap(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.InstanceCreateRate = -1 })
	o.writeApp(t, "capped", acceptAll)
	o.writeAppJSON(t, "capped", `{"maxInstances": 3}`)
	a := dial(t, o.url("capped/a"), rtmpclient.Options{})
	b := dial(t, o.url("capped/b"), rtmpclient.Options{})
	a.Close()
	waitFor(t, 10*time.Second, "capped/a idle", func() bool { return o.srv.engine.Stats().Idle == 1 })
	c := dial(t, o.url("capped/c"), rtmpclient.Options{})
	c.Close()
	waitFor(t, 10*time.Second, "capped/c idle", func() bool { return o.srv.engine.Stats().Idle == 2 })
	d := dial(t, o.url("capped/d"), rtmpclient.Options{}) // a goes: idle the longest
	e := dial(t, o.url("capped/e"), rtmpclient.Options{}) // then c
	dialRefused(t, o.url("capped/f"), rtmpclient.Options{}, "NetConnection.Connect.Rejected",
		"application capped runs its maximum of 3 instances")
	for _, cl := range []*rtmpclient.Client{b, d, e} {
		if v, err := cl.Call(ctx5(t), "ok"); err != nil || v != "ok" {
			t.Fatalf("a client of an instance with clients: %v %v", v, err)
		}
	}
	st := o.srv.engine.Stats()
	if st.Instances != 3 || st.Evicted != 2 || st.Idle != 0 {
		t.Fatalf("stats %+v, want 3 instances, 2 evicted, none idle", st)
	}
	// a was unloaded: joining it again needs a new instance, and none is idle now.
	dialRefused(t, o.url("capped/a"), rtmpclient.Options{}, "NetConnection.Connect.Rejected", "maximum of 3 instances")
}
