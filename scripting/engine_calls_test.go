package scripting

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
)

const callsApp = `
application.onConnect = function (c) {
  c.own = function () { return "own:" + (this === c); };
  c.ns = { deep: function (x) { return this.tag + x; }, tag: "ns-" };
  return true;
};
Client.prototype.echo = function (v) { return v; };
Client.prototype.values = function (kind) {
  switch (kind) {
  case "number": return 1.5;
  case "string": return "h\u00e9\ud83d\ude00";
  case "true": return true;
  case "null": return null;
  case "undefined": return undefined;
  case "object": return {b: 1, a: "x"};
  case "array": return [1, "two", null];
  case "date": return new Date(86400000);
  case "nan": return NaN;
  case "negzero": return -0;
  case "cycle": var o = {name: "o"}; o.self = o; return o;
  case "fn": return {f: function () {}, k: 1};
  }
};
Client.prototype.fail = function () { throw new Error("nope"); };
Client.prototype.spin = function () { while (true) {} };
Client.prototype.later = function (ok) {
  return new Promise(function (res, rej) { setTimeout(function () { ok ? res("done") : rej("bad"); }, 20); });
};
Client.prototype.__resolve = function (name) {
  if (name === "dyn") return function () { return "dyn!"; };
};
Client.prototype.ask = function () {
  var self = this;
  this.call("clientFn", { onResult: function (v) { self.got = ["result", v, this.mark]; }, onStatus: function (i) { self.got = ["status", i.code]; }, mark: "m" }, 1, "a");
  this.call("noAnswer", null, 2);
  return true;
};
Client.prototype.got_ = function () { return this.got; };
Client.prototype.shout = function (m) { application.broadcastMsg("msg", m, 3); };
`

func TestCallResults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"calls/main.js": callsApp, "calls/app.json": `{"handlerTimeoutMs": 200}`})
	f, c := h.accepted("calls")
	cycle := &amf.Object{Props: []amf.Prop{{Key: "name", Value: "o"}}}
	cycle.Props = append(cycle.Props, amf.Prop{Key: "self", Value: cycle})
	cases := []struct {
		kind string
		want any
	}{
		{"number", 1.5},
		{"string", "hé😀"},
		{"true", true},
		{"null", nil},
		{"undefined", amf.Undefined{}},
		{"object", &amf.Object{Props: []amf.Prop{{Key: "b", Value: 1.0}, {Key: "a", Value: "x"}}}},
		{"array", &amf.Array{Dense: []any{1.0, "two", nil}}},
		{"date", amf.Date{Millis: 86400000}},
		{"fn", &amf.Object{Props: []amf.Prop{{Key: "k", Value: 1.0}}}},
	}
	for _, tc := range cases {
		got := h.result(f, c, "values", tc.kind)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.kind, got, tc.want)
		}
	}
	if v := h.result(f, c, "values", "nan").(float64); !math.IsNaN(v) {
		t.Errorf("NaN: %v", v)
	}
	if v := h.result(f, c, "values", "negzero").(float64); !math.Signbit(v) {
		t.Errorf("-0: %v", v)
	}
	o := h.result(f, c, "values", "cycle").(*amf.Object)
	if self, _ := o.Get("self"); self != o {
		t.Errorf("cycle not kept as a reference: %#v", self)
	}
	in := &amf.Object{Props: []amf.Prop{{Key: "z", Value: 1.0}, {Key: "a", Value: amf.Undefined{}}}}
	if got := h.result(f, c, "echo", in); !reflect.DeepEqual(got, in) {
		t.Errorf("echo: %#v", got)
	}
}

func TestCallDispatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"calls/main.js": callsApp, "calls/app.json": `{"handlerTimeoutMs": 200}`})
	f, c := h.accepted("calls")
	for name, want := range map[string]any{"own": "own:true", "ns.deep": "ns-1", "dyn": "dyn!"} {
		if got := h.result(f, c, name, 1.0); got != want {
			t.Errorf("%s: %#v, want %#v", name, got, want)
		}
	}
	for _, name := range []string{"missing", "fail", "ns.nothing", "later"} {
		args := []any{}
		if name == "later" {
			args = append(args, false)
		}
		ev := h.call(f, c, name, args...)
		if ev.kind != "error" || statusCode(t, ev.info) != "NetConnection.Call.Failed" {
			t.Errorf("%s: %+v", name, ev)
		}
	}
	if got := h.result(f, c, "later", true); got != "done" {
		t.Errorf("promise: %#v", got)
	}
	start := time.Now()
	if ev := h.call(f, c, "spin"); ev.kind != "error" {
		t.Fatalf("spin: %+v", ev)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("while(true) interrupted after %v", d)
	}
	if got := h.result(f, c, "own"); got != "own:true" {
		t.Errorf("instance dead after interrupt: %#v", got)
	}
}

func TestClientCallAndBroadcast(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"calls/main.js": callsApp})
	f1, c1 := h.accepted("calls")
	f2, _ := h.accepted("calls")
	c1.Call("ask", 1, nil)
	ev := f1.expect(t, "call")
	if ev.method != "clientFn" || !reflect.DeepEqual(ev.args, []any{1.0, "a"}) || ev.answer == nil {
		t.Fatalf("client.call: %+v", ev)
	}
	ev2 := f1.expect(t, "call")
	if ev2.method != "noAnswer" || ev2.answer != nil {
		t.Fatalf("client.call with null responder: %+v", ev2)
	}
	f1.expect(t, "reply")
	ev.answer("fine", nil)
	h.txn = 1
	got := h.result(f1, c1, "got_").(*amf.Array)
	if !reflect.DeepEqual(got.Dense, []any{"result", "fine", "m"}) {
		t.Fatalf("responder: %v", got.Dense)
	}
	c1.Call("shout", 0, []any{"hey"})
	for _, f := range []*fakeSession{f1, f2} {
		ev := f.expect(t, "call")
		if ev.method != "msg" || !reflect.DeepEqual(ev.args, []any{"hey", 3.0}) {
			t.Fatalf("broadcast: %+v", ev)
		}
	}
}
