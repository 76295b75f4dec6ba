package scripting

import (
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// reloadTo writes a new version of an app's file and waits for the reload to succeed.
func (h *harness) reloadTo(name, src string) {
	h.t.Helper()
	h.write(name, src)
	if err := h.awaitReload(); err != nil {
		h.t.Fatalf("reload: %v\nlog:\n%s", err, h.log.String())
	}
}

// dense returns an RPC's array result.
func (h *harness) dense(f *fakeSession, c *Client, name string, args ...any) []any {
	h.t.Helper()
	return h.result(f, c, name, args...).(*amf.Array).Dense
}

const letsV1 = `
let hits = 0;             // changed by the app: carried
let pingInterval = 5000;  // never changed: the edit takes effect
var pingMs = 5000;        // the same rule for a var
let untouched = "v1";
let {a, b: [bb]} = {a: 1, b: [2]};
const LIMIT = 5;          // const: never carried
load("more.js");
Client.prototype.hit = function () { hits++; a += 10; bb += 20; extra++; return hits; };
Client.prototype.state = function () {
  return [hits, pingInterval, pingMs, untouched, a, bb, LIMIT, extra, typeof Room];
};
`

func TestReloadCarriesLetBindings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"lets/main.js": letsV1, "lets/more.js": `let extra = 0;`})
	f, c := h.accepted("lets")
	h.result(f, c, "hit")
	h.result(f, c, "hit")
	v2 := strings.NewReplacer(`let pingInterval = 5000`, `let pingInterval = 6000`, `var pingMs = 5000`, `var pingMs = 6000`,
		`"v1"`, `"v2"`, `const LIMIT = 5`, `const LIMIT = 6`).Replace(letsV1) + "\nclass Room {}\n"
	h.reloadTo("lets/main.js", v2)
	got := h.dense(f, c, "state")
	want := []any{2.0, 6000.0, 6000.0, "v2", 21.0, 42.0, 6.0, 2.0, "function"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
}

// FMS-era code: a directory of clients by nick, rooms holding shared objects, published streams
// remembered by name.
const refsV1 = `
var byName = {};
var rooms = [];
var live = {};
application.onConnect = function (client, nick) {
  client.nick = nick;
  byName[nick] = client;
  if (nick !== "carl") return true; // carl stays pending until the new code accepts him
};
application.onPublish = function (client, stream) { stream.mark = "m-" + client.nick; live[stream.name] = stream; };
Client.prototype.openRoom = function (name) {
  var so = SharedObject.get(name, false);
  so.setProperty("topic", "hello");
  rooms.push({name: name, so: so, owner: this});
  return rooms.length;
};
`

const refsV2 = `
var byName = {};
var rooms = [];
var live = {};
application.onConnect = function (client) { return true; }; // the replay does not rebuild byName
application.onUnpublish = function (client, stream) {
  trace("unpublish", live[stream.name] === stream, stream.mark);
};
Client.prototype.check = function (other) {
  var so = rooms[0].so;
  return [byName[this.nick] === this, byName[other].nick, rooms[0].owner === this,
    so === SharedObject.get(rooms[0].name, false), so.getProperty("topic"), so.name];
};
Client.prototype.pokeOther = function (other) { byName[other].call("poked", null, this.nick); };
Client.prototype.pendingRef = function () { return byName.carl === application.clients[2]; };
`

func TestReloadRepointsClientsStreamsAndSharedObjects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"refs/main.asc": refsV1})
	fa, ca := h.accepted("refs", "alice")
	fb, cb := h.accepted("refs", "bob")
	if n := h.result(fa, ca, "openRoom", "lobby"); n != 1.0 {
		t.Fatalf("openRoom: %v", n)
	}
	verdict := make(chan bool, 1)
	ca.Publish(StreamRef{Name: "cam"}, func(ok bool, _ *amf.Object) { verdict <- ok })
	if !<-verdict {
		t.Fatal("publish refused")
	}
	fc, _ := h.connect("refs", "", "carl")
	h.reloadTo("refs/main.asc", refsV2)
	fc.expect(t, "accept") // asked again by the new code
	if !h.result(fa, ca, "pendingRef").(bool) {
		t.Fatal("the carried reference to a pending client is not its new object")
	}
	got := h.dense(fa, ca, "check", "bob")
	want := []any{true, "bob", true, true, "hello", "lobby"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
	h.result(fa, ca, "pokeOther", "bob")
	if ev := fb.expect(t, "call"); ev.method != "poked" || !reflect.DeepEqual(ev.args, []any{"alice"}) {
		t.Fatalf("call through the carried reference: %+v", ev)
	}
	ca.Unpublish(StreamRef{Name: "cam"})
	h.awaitLog("unpublish true m-alice")
	_ = cb
}

const classesV1 = `
function Room(name) { this.name = name; this.members = []; }
Room.prototype.describe = function () { return "v1:" + this.name; };
function Gone() { this.g = 1; }
class Counter { constructor() { this.n = 0; } inc() { return ++this.n; } }
var rooms = {};
var gone = null;
let counter = new Counter();
Client.prototype.open = function (name) {
  var r = new Room(name);
  r.members.push(this.id);
  rooms[name] = r;
  gone = new Gone();
  return counter.inc();
};
Client.prototype.look = function (name) {
  var r = rooms[name];
  return [r.describe(), r instanceof Room, r.members.length, counter.inc(), counter instanceof Counter, gone];
};
`

func TestReloadRecreatesClassInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"cls/main.js": classesV1})
	f, c := h.accepted("cls")
	if n := h.result(f, c, "open", "lobby"); n != 1.0 {
		t.Fatalf("open: %v", n)
	}
	v2 := strings.NewReplacer(`"v1:"`, `"v2:"`, `++this.n`, `this.n += 10`,
		"function Gone() { this.g = 1; }\n", "").Replace(classesV1)
	h.reloadTo("cls/main.js", v2)
	got := h.dense(f, c, "look", "lobby")
	want := []any{"v2:lobby", true, 1.0, 11.0, true, nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
}

const graphV1 = `
var shared, x, y, holes, order, timer, handler = null, refs;
application.onConnect = function (c) { return true; };
Client.prototype.setup = function () {
  shared = {n: 1};
  shared.self = shared;
  x = {s: shared};
  y = [shared];
  holes = [1, , 3];
  holes.length = 5;
  order = {b: 1, a: 2, c: 3};
  timer = setInterval(function () {}, 100000);
  handler = function () { return "old"; };
  application.box = {t: setTimeout(function () {}, 100000), k: "kept"};
  this.ownTimer = setInterval(function () {}, 100000);
  this.score = 7;
  refs = {app: application, list: application.clients, global: (function () { return this; })()};
};
Client.prototype.check = function () {
  return [x.s === y[0], shared.self === shared, holes.length, 1 in holes, holes[2], Object.keys(order).join(),
    typeof timer, typeof handler === "function" ? handler() : handler, application.box.k, "t" in application.box,
    "ownTimer" in this, this.score,
    refs.app === application, refs.list === application.clients, refs.list[0] === this, refs.global === (function () { return this; })()];
};
`

func TestReloadGraphRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"graph/main.js": graphV1})
	f, c := h.accepted("graph")
	h.result(f, c, "setup")
	v2 := strings.Replace(graphV1, `handler = null`, `handler = function () { return "new"; }`, 1)
	h.reloadTo("graph/main.js", v2)
	got := h.dense(f, c, "check")
	want := []any{true, true, 5.0, false, 3.0, "b,a,c", "undefined", "new", "kept", false, false, 7.0, true, true, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
}

// Timer ids are whole numbers that clear their timer, from a range counters never reach.
func TestTimerIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"tid/main.js": `
Client.prototype.timers = function () {
  var fired = false;
  var a = setTimeout(function () { fired = true; }, 10);
  var b = setInterval(function () { fired = true; }, 10);
  clearTimeout(a); clearInterval(b); clearInterval(12345); clearTimeout("x");
  return new Promise(function (res) {
    setTimeout(function () { res([fired, b === a + 1, a === Math.floor(a), a > 1e15]); }, 60);
  });
};`})
	f, c := h.accepted("tid")
	if got := h.dense(f, c, "timers"); !reflect.DeepEqual(got, []any{false, true, true, true}) {
		t.Fatalf("%v", got)
	}
}

const onReloadV1 = `
var count = 0, replays = 0;
application.onConnect = function (client, nick) { client.nick = nick; return true; };
Client.prototype.bump = function () { return ++count; };
Client.prototype.ping = function () { this.call("pinged", null, count); return count; };
`

// With application.onReload (ext), onConnect is not replayed; onReload sees the carried state.
func TestReloadOnReloadSeesCarriedState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"onr/main.js": onReloadV1})
	f, c := h.accepted("onr", "ann")
	h.result(f, c, "bump")
	h.reloadTo("onr/main.js", onReloadV1+`
application.onConnect = function (client) { replays++; return true; };
application.onReload = function (client) { client.greeting = "hi " + client.nick + " " + count; };
Client.prototype.greet = function () { return [this.greeting, replays]; };`)
	if got := h.dense(f, c, "greet"); !reflect.DeepEqual(got, []any{"hi ann 1", 0.0}) {
		t.Fatalf("%v\nlog:\n%s", got, h.log.String())
	}
}

// A reload that fails in step 2 leaves the old runtime serving as before: its state, and its
// effects (client.call) no longer sandboxed.
func TestReloadFailureKeepsOldRuntime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"fail/main.js": onReloadV1})
	f, c := h.accepted("fail", "ann")
	h.result(f, c, "bump")
	for i, bad := range []string{
		`application.onAppStart = function () { throw new Error("start fails"); };`,
		`application.onReload = function () { throw new Error("reload fails"); };`,
	} {
		h.write("fail/main.js", "var count = 100;\n"+bad)
		if err := h.awaitReload(); err == nil || !strings.Contains(err.Error(), "fails") {
			t.Fatalf("reload error %v", err)
		}
		if n := h.result(f, c, "bump"); n != float64(2+i) {
			t.Fatalf("old state lost: %v", n)
		}
		c.Call("ping", 0, nil) // no answer wanted: the next event is the call
		if ev := f.expect(t, "call"); ev.method != "pinged" {
			t.Fatalf("old runtime's client.call: %+v", ev)
		}
	}
}
