package scripting

import (
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// An FMS-era main.asc: ES3, sloppy mode, old-Mac CR line endings with line comments, a BOM,
// helpers defined after use, a built-in overridden at the end, load() of a subfolder file and
// of the server script library.
var fmsMain = "\xEF\xBB\xBF" + strings.Join([]string{
	`// chat application, FMS 2 era`,
	`load("lib/helpers.asc");`,
	`load("netservices.asc");`,
	`load("lib/helpers.asc"); // twice runs twice`,
	`undeclared = 5;`,
	`this["byThis"] = "global";`,
	`function whoIsThis() { return this === undefined ? "undefined" : (this.byThis === "global" ? "global" : "other"); }`,
	`application.onAppStart = function (info) { this.started = info.code; this.early = helperLoaded; };`,
	`application.onConnect = function (client) { application.acceptConnection(client); return true; };`,
	`Client.prototype.check = function () {`,
	`  var t = setInterval(function () { clearInterval(t); }, 10); clearInterval(undefined); clearInterval(12345);`,
	`  return [undeclared, whoIsThis(), "  x ".trim(), application.started, application.early, loads, netservices, lateFn()];`,
	`};`,
	`Client.prototype.unsupported = function (what) {`,
	`  try { if (what === "xmlsocket") new XMLSocket(); else if (what === "nc") new NetConnection(); else Stream.get("s"); } catch (e) { return String(e.message || e); }`,
	`  return "no error";`,
	`};`,
	`Client.prototype.mod = function () { var m = require("./mod"); return [m.answer, require("./mod") === m]; };`,
	`Client.prototype.log = function () { trace("traced", {a: 1}); console.warn("warned"); };`,
	`function lateFn() { return "late"; }`,
	`String.prototype.trim = function () { return "overridden"; };`,
}, "\r")

func TestFMSEraScript(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"fms/main.asc":        fmsMain,
		"fms/lib/helpers.asc": "\xEF\xBB\xBFvar helperLoaded = true;\r\nloads = (typeof loads == 'number' ? loads : 0) + 1;\r\n",
		"lib/netservices.asc": "netservices = 'from scriptlib';",
		"fms/mod.js":          "exports.answer = 42;",
	})
	f, c := h.accepted("fms")
	got := h.result(f, c, "check").(*amf.Array).Dense
	want := []any{5.0, "global", "overridden", "Application.Start", true, 2.0, "from scriptlib", "late"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v\nlog:\n%s", got, want, h.log.String())
	}
	for _, what := range []string{"xmlsocket", "nc", "stream"} {
		if msg, _ := h.result(f, c, "unsupported", what).(string); !strings.Contains(msg, "not supported yet") {
			t.Errorf("%s: %q", what, msg)
		}
	}
	if got := h.result(f, c, "mod").(*amf.Array).Dense; !reflect.DeepEqual(got, []any{42.0, true}) {
		t.Errorf("require: %v", got)
	}
	h.result(f, c, "log")
	out := h.log.String()
	for _, s := range []string{"traced [object Object]", "warned", `"app":"fms/_definst_"`} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, out)
		}
	}
}

func TestEditOfLoadedFileReloads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"ld/main.js":     `load("parts/v.txt"); Client.prototype.v = function () { return v; };`,
		"ld/parts/v.txt": `var v = 1;`,
	})
	f, c := h.accepted("ld")
	if got := h.result(f, c, "v"); got != 1.0 {
		t.Fatalf("v = %v", got)
	}
	h.write("ld/parts/v.txt", `var v = 2;`)
	if err := h.awaitReload(); err != nil {
		t.Fatal(err)
	}
	if got := h.result(f, c, "v"); got != 2.0 {
		t.Fatalf("after edit v = %v", got)
	}
}

func TestPublishPlayAndIdleUnload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"live/main.js": `
application.onPublish = function (c, s) { s.mark = "m"; return s.name !== "bad"; };
application.onUnpublish = function (c, s) { trace("unpublished", s.name, s.mark, s.publishQueryString); };
application.onPlay = function (c, s) { if (s.name === "secret") throw {code: "NetStream.Play.Forbidden", level: "error"}; };
application.onAppStop = function (i) { trace("stopped", i.code); };
`,
		"live/app.json": `{"idleUnloadSeconds": 0}`,
	})
	f, c := h.accepted("live")
	type verdict struct {
		ok   bool
		info *amf.Object
	}
	vc := make(chan verdict, 1)
	cb := func(ok bool, info *amf.Object) { vc <- verdict{ok, info} }
	c.Publish(StreamRef{Name: "good", Query: "k=1"}, cb)
	if v := <-vc; !v.ok {
		t.Fatalf("publish good: %v", v.info)
	}
	c.Publish(StreamRef{Name: "bad"}, cb)
	if v := <-vc; v.ok || v.info.String("code") != "NetStream.Publish.BadName" {
		t.Fatalf("publish bad: %+v", v)
	}
	c.Play(StreamRef{Name: "secret"}, cb)
	if v := <-vc; v.ok || v.info.String("code") != "NetStream.Play.Forbidden" {
		t.Fatalf("play secret: %+v", v)
	}
	c.Unpublish(StreamRef{Name: "good", Query: "k=1"})
	h.awaitLog("unpublished good m k=1")
	c.Disconnect()
	h.awaitLog("stopped Application.Shutdown")
	select {
	case ev := <-f.events:
		t.Fatalf("event after disconnect: %+v", ev)
	default:
	}
}
