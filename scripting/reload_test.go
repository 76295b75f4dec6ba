package scripting

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

const reloadV1 = `
var version = 1;
var counter = 0;
var untouched = "v1";
application.hits = 0;
application.onConnect = function (c, mode) {
  if (mode === "wait") return; // pending
  c.perClient = function () { return "pc" + version; };
  return true;
};
Client.prototype.info = function () {
  counter++; application.hits++;
  return [version, counter, untouched, this.nick, typeof this.perClient, application.clients.length, application.hits];
};
Client.prototype.setNick = function (n) { this.nick = n; };
`

const reloadV2 = `
var version = 2;
var counter = 0;
var untouched = "v2";
application.onConnect = function (c, mode) {
  if (mode === "wait") { application.acceptConnection(c); return; }
  c.perClient = function () { return "pc" + version; };
  return true;
};
Client.prototype.info = function () {
  counter++; application.hits++;
  return [version, counter, untouched, this.nick, typeof this.perClient, application.clients.length, application.hits];
};
`

func TestReloadKeepsClientsAndState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"r/main.js": reloadV1})
	f, c := h.accepted("r")
	h.result(f, c, "setNick", "bob")
	if got := h.result(f, c, "info").(*amf.Array).Dense; !reflect.DeepEqual(got, []any{1.0, 1.0, "v1", "bob", "function", 1.0, 1.0}) {
		t.Fatalf("v1: %v", got)
	}
	if got := h.result(f, c, "perClient"); got != "pc1" {
		t.Fatalf("per-client method: %v", got)
	}
	fp, _ := h.connect("r", "", "wait") // pending under v1

	h.write("r/main.js", "var x = ;") // syntax error: the old code stays
	if err := h.awaitReload(); err == nil || !strings.Contains(err.Error(), "main.js:1:") {
		t.Fatalf("syntax error not reported with file:line: %v", err)
	}
	if got := h.result(f, c, "info").(*amf.Array).Dense; got[0] != 1.0 {
		t.Fatalf("old code gone after a syntax error: %v", got)
	}

	h.write("r/main.js", reloadV2)
	if err := h.awaitReload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	fp.expect(t, "accept") // the pending connection was asked again by the new code
	// changed globals carried (counter 2 → 3), unchanged ones take the new value, client data
	// props and per-client methods (replayed onConnect) kept, application props carried.
	got := h.result(f, c, "info").(*amf.Array).Dense
	want := []any{2.0, 3.0, "v2", "bob", "function", 2.0, 3.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload: %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
	if got := h.result(f, c, "perClient"); got != "pc2" {
		t.Fatalf("per-client method after reload: %v", got)
	}
	if ev := h.call(f, c, "setNick"); ev.kind != "error" {
		t.Fatalf("removed method still callable: %+v", ev)
	}
}

func TestReloadFailsPendingPromisesAndDropsOldAnswers(t *testing.T) {
	t.Parallel()
	src := `
Client.prototype.forever = function () { return new Promise(function () {}); };
Client.prototype.ask = function () { var s = this; this.call("x", { onResult: function () { s.answered = true; } }); };
Client.prototype.answered_ = function () { return this.answered === true; };
`
	h := newHarness(t, map[string]string{"pr/main.js": src})
	f, c := h.accepted("pr")
	c.Call("forever", 7, nil)
	c.Call("ask", 0, nil)
	ev := f.expect(t, "call")
	h.write("pr/main.js", src+"\n// edited\n")
	if err := h.awaitReload(); err != nil {
		t.Fatal(err)
	}
	e := f.expect(t, "error")
	if e.txn != 7 || !strings.Contains(e.info.String("description"), "application reloaded") {
		t.Fatalf("unsettled promise: %+v", e)
	}
	ev.answer("late", nil)
	if h.result(f, c, "answered_") != false {
		t.Fatal("answer to the old generation's call was delivered")
	}
}

func TestLoadErrorThenFix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"bad/main.js": `throw new Error("broken at load");`})
	f, _ := h.connect("bad", "")
	ev := f.expect(t, "reject")
	if !strings.Contains(ev.info.String("description"), "broken at load") {
		t.Fatalf("description: %q", ev.info.String("description"))
	}
	if !strings.Contains(h.log.String(), "application failed to load") {
		t.Fatalf("no log line:\n%s", h.log.String())
	}
	h.write("bad/main.js", `application.onConnect = function () { return true; };`)
	if err := h.awaitReload(); err != nil {
		t.Fatal(err)
	}
	h.accepted("bad")
}

func TestDeletedAppShutsDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"gone/main.js": `application.onAppStop = function (i) { trace("stop", i.code); };`})
	f, _ := h.accepted("gone")
	if err := os.RemoveAll(filepath.Join(h.apps, "gone")); err != nil {
		t.Fatal(err)
	}
	if ev := f.expect(t, "close"); ev.code != "AppShutdown" {
		t.Fatalf("close code %q", ev.code)
	}
	if h.e.AppExists("gone") {
		t.Fatal("app still exists")
	}
}
