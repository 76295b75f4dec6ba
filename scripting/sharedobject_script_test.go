package scripting

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// soApp exercises the SharedObject table of APP-API.md from the server side; log() returns and
// clears what the object's onSync and handlers saw.
const soApp = `
var so = SharedObject.get("room");
var seen = [];
so.onSync = function (list) {
  for (var i = 0; i < list.length; i++)
    seen.push(list[i].code + ":" + list[i].name + ":" + String(list[i].oldValue));
};
so.hello = function (x) { seen.push("hello:" + x + ":" + (this === so)); };
Client.prototype.log = function () { var l = seen; seen = []; return l.join(";"); };
Client.prototype.api = function () {
  var p = SharedObject.get("api");
  p.setProperty("b", 1); p.setProperty("a", 2); p.setProperty("c", 3); p.setProperty("c", null);
  var r = [p.getPropertyNames().join(","), p.size(), p.flush(), p.lock(), p.lock(), p.unlock(),
    p.unlock(), p.unlock(), p.isDirty, p.resyncDepth];
  p.resyncDepth = 5;
  r.push(p.resyncDepth);
  var q = SharedObject.get("persist", true);
  q.setProperty("x", 1);
  r.push(q.isDirty, q.flush(), q.isDirty, q.purge(q.version), q.version, p.version);
  return r;
};
Client.prototype.lockedSend = function () {
  so.lock(); so.setProperty("k", 1); so.send("after", "x"); so.unlock();
  return true;
};
Client.prototype.closeIt = function () {
  so.close();
  var threw = false;
  try { so.size(); } catch (e) { threw = true; }
  so = SharedObject.get("room");
  return [threw, so.getProperty("k")];
};
Client.prototype.purgeHistory = function () {
  var p = SharedObject.get("hist", true);
  p.setProperty("a", 1); p.setProperty("b", 2); p.setProperty("a", null);
  p.purge(p.version + 1);
  return p.version;
};
`

// soRec is a subscriber that decodes what the registry sends it, as the connection id.
type soRec struct {
	t    *testing.T
	id   string
	mu   sync.Mutex
	msgs [][]sharedobject.Event
}

func (r *soRec) Send(m *rtmpmsg.SharedObjectMessage, _ bool) {
	evs, err := sharedobject.DecodeEvents(m)
	if err != nil {
		r.t.Errorf("decode: %v", err)
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, evs)
	r.mu.Unlock()
}

func (r *soRec) take() [][]sharedobject.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

// soSend hands the registry a client message with events on object name.
func soSend(t *testing.T, c *Client, r *soRec, name string, persistent bool, version uint32, evs ...sharedobject.Event) {
	t.Helper()
	m := &rtmpmsg.SharedObjectMessage{Name: name, Version: version}
	if persistent {
		m.Flags = 2
	}
	var e amf.Encoder
	for i := range evs {
		raw, err := sharedobject.EncodeEvent(&e, &evs[i], false)
		if err != nil {
			t.Fatal(err)
		}
		m.Events = append(m.Events, raw)
	}
	if err := c.SharedObjects().Handle(r.id, r, false, m); err != nil {
		t.Fatal(err)
	}
}

var soUse = sharedobject.Event{Type: sharedobject.EventUse}

func soChange(k string, v any) sharedobject.Event {
	return sharedobject.Event{Type: sharedobject.EventRequestChange, Pairs: []sharedobject.Pair{{Key: k, Value: v}}}
}

// awaitLog calls log() until the script reports something (each call is a loop round trip, so
// the shared-object callbacks posted before it have run).
func awaitSOLog(h *harness, f *fakeSession, c *Client, want string) {
	h.t.Helper()
	var got []string
	for range 50 {
		if l := h.result(f, c, "log"); l != "" {
			got = append(got, l.(string))
		}
		if strings.Join(got, ";") == want {
			return
		}
	}
	h.t.Fatalf("log %q, want %q", strings.Join(got, ";"), want)
}

func TestSOScriptAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"so/main.js": soApp})
	f, c := h.accepted("so")
	got, _ := h.result(f, c, "api").(*amf.Array)
	want := []any{"b,a", 2.0, false, 1.0, 2.0, 1.0, 0.0, -1.0, false, -1.0, 5.0, true, true, false, true, 1.0, 4.0}
	if got == nil || !reflect.DeepEqual(got.Dense, want) {
		t.Fatalf("api() = %#v, want %v", got, want)
	}
}

// TestSOScriptLockedSend: so.send between lock and unlock reaches clients after the changes.
func TestSOScriptLockedSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"so/main.js": soApp})
	f, c := h.accepted("so")
	rec := &soRec{t: t, id: f.id}
	soSend(t, c, rec, "room", false, 0, soUse)
	rec.take()
	h.result(f, c, "lockedSend")
	got := rec.take()
	want := [][]sharedobject.Event{
		{{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "k", Value: 1.0}}}},
		{{Type: sharedobject.EventSendMessage, Method: "after", Args: []any{"x"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("wire order %v, want %v", got, want)
	}
}

// TestSOScriptOnSync: the list items carry name, code and oldValue; refused writes are
// "reject"; handlers assigned as so.NAME = function get clients' sends with this = so.
func TestSOScriptOnSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"so/main.js": soApp,
		"so/app.json": `{"sharedObjects": {"maxSlots": 1}}`})
	f, c := h.accepted("so")
	rec := &soRec{t: t, id: f.id}
	soSend(t, c, rec, "room", false, 0, soUse, soChange("x", 1.0))
	soSend(t, c, rec, "room", false, 0, soChange("x", "two"))
	soSend(t, c, rec, "room", false, 0, soChange("y", true)) // no room: rejected
	soSend(t, c, rec, "room", false, 0, sharedobject.Event{Type: sharedobject.EventRequestRemove, Key: "x"})
	soSend(t, c, rec, "room", false, 0, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello", Args: []any{"w"}})
	awaitSOLog(h, f, c, "change:x:undefined;change:x:1;reject:y:undefined;delete:x:two;hello:w:true")
}

// TestSOScriptCloseWhileSubscribed: close releases the script's handle only; clients keep the
// object, and SharedObject.get returns a new handle on the same state.
func TestSOScriptCloseWhileSubscribed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"so/main.js": soApp})
	f, c := h.accepted("so")
	rec := &soRec{t: t, id: f.id}
	soSend(t, c, rec, "room", false, 0, soUse, soChange("k", "kept"))
	got, _ := h.result(f, c, "closeIt").(*amf.Array)
	if got == nil || !reflect.DeepEqual(got.Dense, []any{true, "kept"}) {
		t.Fatalf("closeIt() = %#v", got)
	}
	rec.take()
	soSend(t, c, rec, "room", false, 0, soChange("k", "again"))
	if m := rec.take(); len(m) != 1 || m[0][0].Type != sharedobject.EventSuccess {
		t.Fatalf("after close: %v", m)
	}
	awaitSOLog(h, f, c, "change:k:undefined") // the new handle has no onSync: the second change is not logged
}

// TestSOScriptPurge: purge from the script drops the deleted-slot history, so a client coming
// back from before it gets a clear and the whole object.
func TestSOScriptPurge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"so/main.js": soApp})
	f, c := h.accepted("so")
	if v := h.result(f, c, "purgeHistory"); v != 3.0 {
		t.Fatalf("version %v", v)
	}
	rec := &soRec{t: t, id: f.id}
	soSend(t, c, rec, "hist", true, 2, soUse)
	m := rec.take()
	if len(m) != 1 || len(m[0]) != 3 || m[0][1].Type != sharedobject.EventClear {
		t.Fatalf("use at 2 after purge: %v", m)
	}
}
