package edge

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const librtmpApp = `
application.onConnect = function (client, name, n, obj) {
	if (name === "reject") {
		application.rejectConnection(client, {reason: "go away"});
		return;
	}
	client.gotArgs = {name: name, n: n, k: obj && obj.k};
	return true;
};
Client.prototype.argsObject = function () { return this.gotArgs; };
Client.prototype.echo = function (x) { return x; };
Client.prototype.boom = function () { throw new Error("boom"); };
Client.prototype.ask = function (x) {
	var self = this;
	return new Promise(function (resolve) {
		self.call("double", {onResult: function (v) { resolve(v); }}, x);
	});
};
`

// TestPythonLibrtmpThroughEdge drives an app through the edge with Debian's python3-librtmp: a
// real third-party client's connect, calls, server→client call and rejection cross the trunk.
func TestPythonLibrtmpThroughEdge(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import librtmp").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-librtmp is required under CI=true: %v", err)
		}
		t.Skip("python3-librtmp not installed")
	}
	o := startOrigin(t, testSecret, map[string]string{"chat": librtmpApp})
	e := startEdge(t, testSecret, o)
	script := `
import librtmp, sys, json
url = sys.argv[1]
conn = librtmp.RTMP(url, connect_data=["bob", 5, {"k": "v"}])
conn.connect()
print(json.dumps(conn.call("argsObject").result(timeout=5), sort_keys=True))
print(json.dumps(conn.call("echo", librtmp.amf.AMFObject({"s": "x", "n": 2})).result(timeout=5), sort_keys=True))
@conn.invoke_handler
def double(x):
    return x * 2
print(json.dumps(conn.call("ask", 4).result(timeout=5)))
errs = []
conn.register_invoke_handler("_error", lambda *a: errs.append(a))
conn.call("boom")
conn.process_packets(invoked_method="_error", timeout=5)
print(json.dumps(len(errs) > 0))
rej = librtmp.RTMP(url, connect_data=["reject", 1])
rerr = []
rej.register_invoke_handler("_error", lambda *a: rerr.append(a))
rej.connect()
try:
    rej.process_packets(invoked_method="_error", timeout=3)
except Exception:
    pass
print(json.dumps(str(rerr)))
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-u", "-c", script, e.url("chat")).CombinedOutput()
	if err != nil {
		t.Fatalf("python3-librtmp: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("output:\n%s", out)
	}
	want := []string{`{"k": "v", "n": 5.0, "name": "bob"}`, `{"n": 2.0, "s": "x"}`, `8.0`, `true`}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: got %s, want %s", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[4], "NetConnection.Connect.Rejected") || !strings.Contains(lines[4], "go away") {
		t.Errorf("rejection seen by librtmp: %s", lines[4])
	}
}
