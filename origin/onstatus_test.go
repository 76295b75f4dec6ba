package origin

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestUncaughtErrorsReachOnStatus: an exception no handler catches is reported to
// application.onStatus (FMS), once — an onStatus that throws itself is not called again.
func TestUncaughtErrorsReachOnStatus(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "errs", `
var reports = 0;
application.onStatus = function (info) {
	reports++;
	trace("onStatus " + info.code + " " + (info.description.indexOf("kaboom") >= 0) + " #" + reports);
	if (reports === 2) { throw new Error("onStatus itself fails"); }
};
Client.prototype.fail = function () { setTimeout(function () { throw new Error("kaboom"); }, 1); return true; };
`)
	c := dial(t, o.url("errs"), rtmpclient.Options{})
	c.Call(ctx5(t), "fail")
	waitFor(t, 5*time.Second, "onStatus", func() bool { return strings.Contains(o.logs.String(), "onStatus Application.Script.Error true #1") })
	c.Call(ctx5(t), "fail") // onStatus throws this time: logged, not reported again
	waitFor(t, 5*time.Second, "the second report", func() bool { return strings.Contains(o.logs.String(), "onStatus itself fails") })
	c.Call(ctx5(t), "fail")
	waitFor(t, 5*time.Second, "the third report", func() bool { return strings.Contains(o.logs.String(), "#3") })
	if strings.Count(o.logs.String(), "onStatus Application.Script.Error") != 3 {
		t.Fatalf("onStatus ran %d times, want 3", strings.Count(o.logs.String(), "onStatus Application.Script.Error"))
	}
}
