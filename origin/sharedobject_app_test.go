package origin

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// soScriptApp uses the object "room" from the server side: a timer writes a slot, onSync reports
// client changes back through so.send, and a handler answers clients' so.send("ping", ...).
const soScriptApp = `
var room;
application.onAppStart = function () {
  room = SharedObject.get("room");
  room.onSync = function (list) {
    var parts = [];
    for (var i = 0; i < list.length; i++) parts.push(list[i].code + ":" + list[i].name);
    this.send("synced", parts.join(","));
  };
  room.ping = function (a, b) { room.setProperty("pinged", a + b); };
};
Client.prototype.tick = function (v) {
  setTimeout(function () { room.setProperty("tick", v); }, 5);
  return true;
};
Client.prototype.probe = function () {
  var so = SharedObject.get("probe");
  var missing = typeof so.getProperty("nothing");
  so.setProperty("k", {a: 1});
  var had = so.getProperty("k").a;
  so.setProperty("k", null);
  var afterNull = typeof so.getProperty("k");
  so.setProperty("j", 2);
  so.setProperty("j", undefined);
  return [missing, had, afterNull, so.size(), so === SharedObject.get("probe"), so.name,
          SharedObject.get("probe", true) === null, so.version];
};
`

func TestSharedObjectServerSide(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	o.writeApp(t, "so", soScriptApp)
	ctx := ctx5(t)
	a, b := dialSO(t, o, "so", "a", false), dialSO(t, o, "so", "b", true)
	a.use(ctx, "room", false)
	b.use(ctx, "room", false)

	// A server-side setProperty from a timer reaches every client.
	if _, err := a.c.Call(ctx, "tick", 7.0); err != nil {
		t.Fatal(err)
	}
	tick := sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "tick", Value: 7.0}}}
	for _, p := range []*soPeer{a, b} {
		expectEvents(t, p.name+" tick", p.next(ctx), tick)
	}

	// A client change fires onSync with the right list (the script echoes it with send).
	a.send("room", false, change("x", "1", "y", true))
	expectEvents(t, "a", a.next(ctx), sharedobject.Event{Type: sharedobject.EventSuccess, Key: "x"}, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "y"})
	b.next(ctx) // the Change
	synced := sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "synced", Args: []any{"change:x,change:y"}}
	for _, p := range []*soPeer{a, b} {
		expectEvents(t, p.name+" synced", p.next(ctx), synced)
	}

	// A client's send reaches every subscriber and the server handler of that name.
	b.send("room", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "ping", Args: []any{"p", "q"}})
	for _, p := range []*soPeer{a, b} {
		expectEvents(t, p.name+" ping", p.next(ctx), sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "ping", Args: []any{"p", "q"}})
	}
	pinged := sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "pinged", Value: "pq"}}}
	for _, p := range []*soPeer{a, b} {
		expectEvents(t, p.name+" pinged", p.next(ctx), pinged)
	}
}

// TestSharedObjectScriptAPI: FMS rules — get(name) is non-persistent, setProperty(k, null or
// undefined) deletes, a missing slot is undefined, get returns the same object.
func TestSharedObjectScriptAPI(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	o.writeApp(t, "so", soScriptApp)
	c := dial(t, o.url("so"), rtmpclient.Options{})
	v, err := c.Call(ctx5(t), "probe")
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := v.(*amf.Array)
	if arr == nil {
		t.Fatalf("probe returned %#v", v)
	}
	want := []any{"undefined", 1.0, "undefined", 0.0, true, "probe", true, 4.0}
	if len(arr.Dense) != len(want) {
		t.Fatalf("probe returned %v, want %v", arr.Dense, want)
	}
	for i, w := range want {
		if arr.Dense[i] != w {
			t.Fatalf("probe[%d] = %#v, want %#v (all: %v)", i, arr.Dense[i], w, arr.Dense)
		}
	}
}

const soReloadV1 = `
var room = SharedObject.get("room");
room.ping = function (x) { room.setProperty("from", "v1:" + x); };
Client.prototype.ver = function () { return 1; };
`

// TestSharedObjectSurvivesReload: a hot reload keeps the objects, their slots and subscriptions;
// handlers are the new code's.
func TestSharedObjectSurvivesReload(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	main := o.writeApp(t, "so", soReloadV1)
	ctx := ctx5(t)
	a := dialSO(t, o, "so", "a", false)
	a.use(ctx, "room", false)
	a.send("room", false, change("keep", 5.0))
	a.next(ctx)
	saveAtomically(t, main, strings.ReplaceAll(strings.ReplaceAll(soReloadV1, "v1:", "v2:"), "return 1", "return 2"))
	waitFor(t, 10*time.Second, "the reload", func() bool {
		v, err := a.c.Call(ctx, "ver")
		return err == nil && v == 2.0
	})
	a.send("room", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "ping", Args: []any{"x"}})
	expectEvents(t, "a echo", a.next(ctx), sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "ping", Args: []any{"x"}})
	expectEvents(t, "a handler", a.next(ctx), sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "from", Value: "v2:x"}}})
	b := dialSO(t, o, "so", "b", true)
	if got := b.use(ctx, "room", false).slots(); got["keep"] != 5.0 || got["from"] != "v2:x" {
		t.Fatalf("slots after reload: %v", got)
	}
}

const soAccessApp = `
application.onConnect = function (c, read, write) {
  if (read !== undefined) c.readAccess = read;
  if (write !== undefined) c.writeAccess = write;
  return true;
};
Client.prototype.access = function () { return this.readAccess + "|" + this.writeAccess; };
`

// TestSharedObjectAccess: readAccess and writeAccess path prefixes set by the script decide Use
// and writes, with SharedObject.NoReadAccess / NoWriteAccess answers.
func TestSharedObjectAccess(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	o.writeApp(t, "so", soAccessApp)
	ctx := ctx5(t)
	c := &soPeer{t: t, name: "limited", c: dial(t, o.url("so"), rtmpclient.Options{ConnectArgs: []any{"public;/lobby/", "public/chat"}})}
	if v, err := c.c.Call(ctx, "access"); err != nil || v != "public;/lobby/|public/chat" {
		t.Fatalf("access = %v, %v", v, err)
	}
	c.send("private/x", false, sharedobject.Event{Type: sharedobject.EventUse})
	if m := c.next(ctx); len(m.events) != 1 || m.events[0].Code != sharedobject.CodeNoReadAccess {
		t.Fatalf("use of private/x: %s", m)
	}
	c.send("publicity", false, sharedobject.Event{Type: sharedobject.EventUse})
	if m := c.next(ctx); len(m.events) != 1 || m.events[0].Code != sharedobject.CodeNoReadAccess {
		t.Fatalf("use of publicity (prefix of a segment only): %s", m)
	}
	c.use(ctx, "lobby", false)
	c.send("lobby", false, change("k", 1.0))
	if m := c.next(ctx); len(m.events) == 0 || m.events[0].Code != sharedobject.CodeNoWriteAccess {
		t.Fatalf("write to lobby: %s", m)
	}
	c.use(ctx, "public/chat/room1", false)
	c.send("public/chat/room1", false, change("k", 1.0))
	expectEvents(t, "write to public/chat/room1", c.next(ctx), sharedobject.Event{Type: sharedobject.EventSuccess, Key: "k"})
	// The default is "/": everything.
	d := dialSO(t, o, "so", "default", false)
	d.use(ctx, "private/x", false)
	d.send("private/x", false, change("k", 2.0))
	expectEvents(t, "default write", d.next(ctx), sharedobject.Event{Type: sharedobject.EventSuccess, Key: "k"})
}
