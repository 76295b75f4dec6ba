package scripting

import (
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

func statusCode(t *testing.T, o *amf.Object) string {
	t.Helper()
	if o == nil {
		t.Fatal("nil status")
	}
	return o.String("code")
}

func TestConnectVerdicts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"v/main.js": `
application.onConnect = function (client, mode, extra) {
  client.mode = mode;
  switch (mode) {
  case "true": return true;
  case "false": return false;
  case "accept": application.acceptConnection(client); return true; // both: accepted once
  case "reject": application.rejectConnection(client, {reason: "banned", n: 7}); return;
  case "throw": throw new Error("boom");
  case "redirect": application.redirectConnection(client, "rtmp://other/app", "moved", {why: "x"}); return;
  case "late": setTimeout(function () { application.acceptConnection(client); application.rejectConnection(client); }, 500); return;
  case "never": return;
  }
};
application.onConnectAccept = function (client) { client.accepted = true; };
Client.prototype.state = function () { return [this.mode, this.accepted === true, application.clients.length]; };
`})
	cases := []struct {
		mode, want, desc string
		app              map[string]any
	}{
		{mode: "true", want: "accept"},
		{mode: "accept", want: "accept"},
		{mode: "late", want: "accept"},
		{mode: "false", want: "reject"},
		{mode: "reject", want: "reject", app: map[string]any{"reason": "banned", "n": 7.0}},
		{mode: "throw", want: "reject", desc: "application error"}, // the text "boom" only in the log (allowDebug false)
		{mode: "redirect", want: "reject", desc: "moved"},
	}
	for _, tc := range cases {
		f, c := h.connect("v", "", tc.mode)
		ev := f.next(t)
		if ev.kind != tc.want {
			t.Fatalf("%s: got %s %v, want %s", tc.mode, ev.kind, ev.info, tc.want)
		}
		if tc.want == "accept" {
			got := h.result(f, c, "state").(*amf.Array)
			if got.Dense[0] != tc.mode || got.Dense[1] != true {
				t.Fatalf("%s: state %v", tc.mode, got.Dense)
			}
			continue
		}
		if statusCode(t, ev.info) != "NetConnection.Connect.Rejected" {
			t.Fatalf("%s: status %v", tc.mode, ev.info)
		}
		if d := ev.info.String("description"); !strings.Contains(d, tc.desc) || strings.Contains(d, "boom") {
			t.Fatalf("%s: description %q", tc.mode, d)
		}
		if tc.app != nil {
			app, _ := ev.info.Get("application")
			o, ok := app.(*amf.Object)
			if !ok || o.String("reason") != "banned" {
				t.Fatalf("%s: application %v", tc.mode, app)
			}
		}
		if tc.mode == "redirect" {
			ex, _ := ev.info.Get("ex")
			o := ex.(*amf.Object)
			if code, _ := o.Number("code"); code != 302 || o.String("redirect") != "rtmp://other/app" {
				t.Fatalf("redirect ex %v", o)
			}
		}
		select {
		case extra := <-f.events:
			t.Fatalf("%s: second verdict %v", tc.mode, extra)
		default:
		}
	}
}

func TestPendingTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"p/main.asc": `application.onConnect = function (c) { /* decide never */ };`,
		"p/app.json": `{"pendingConnectTimeoutMs": 150}`,
	})
	f, _ := h.connect("p", "")
	ev := f.expect(t, "reject")
	if ev.info.String("description") != "no decision in time" {
		t.Fatalf("description %q", ev.info.String("description"))
	}
}

func TestNoCodeAppAcceptsAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"empty/readme.txt": "no code"})
	f, c := h.accepted("empty")
	ok := make(chan bool, 1)
	c.Publish(StreamRef{Name: "s"}, func(v bool, _ *amf.Object) { ok <- v })
	if !<-ok {
		t.Fatal("publish refused")
	}
	if ev := h.call(f, c, "nothing"); ev.kind != "error" {
		t.Fatalf("missing method: %v", ev)
	}
	if _, err := h.e.Connect("nope", "", newFake()); err == nil {
		t.Fatal("connect to a missing app succeeded")
	}
}

func TestApplicationAndClientProperties(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"chat/main.js": `
var kept = application.clients;
application.onConnect = function (c) { c.id = "mine"; return true; };
Client.prototype.props = function () {
  return { name: application.name, n: kept.length, same: kept === application.clients,
    ip: this.ip, agent: this.agent, referrer: this.referrer, pageUrl: this.pageUrl, protocol: this.protocol,
    id: this.id, read: this.readAccess, write: this.writeAccess, edge: this.edge, query: this.query,
    cfg: application.config.greeting, stats: application.getStats().total_connects,
    cstats: this.getStats().bytes_in };
};
Client.prototype.kick = function () { application.disconnect(this); };
application.onDisconnect = function (c) { trace("gone", c.id); };
`,
		"chat/app.json": `{"config": {"greeting": "hi"}}`,
	})
	f1, c1 := h.connect("chat", "room1")
	f1.expect(t, "accept")
	f2, c2 := h.connect("chat", "room1")
	f2.expect(t, "accept")
	o := h.result(f1, c1, "props").(*amf.Object)
	want := map[string]any{"name": "chat/room1", "n": 2.0, "same": true, "ip": "127.0.0.1", "agent": "FMLE/3.0",
		"referrer": "", "pageUrl": "", "protocol": "rtmp", "id": "mine", "read": "/", "write": "/", "edge": nil,
		"query": "", "cfg": "hi", "stats": 2.0, "cstats": 10.0}
	for k, v := range want {
		if got, _ := o.Get(k); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	c2.Call("kick", 0, nil)
	f2.expect(t, "close")
	h.awaitLog("gone mine")
	c2.Disconnect() // the origin's report afterwards is ignored
	if n, _ := h.result(f1, c1, "props").(*amf.Object).Number("n"); n != 1 {
		t.Fatalf("clients after kick: %v", n)
	}
}
