package scripting

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// hooksHarness runs the hooks of a temporary folder until the test ends.
type hooksHarness struct {
	t       *testing.T
	dir     string
	h       *Hooks
	log     *syncLog
	reloads chan hookReload
}

type hookReload struct {
	name string
	err  error
}

func newHooksHarness(t *testing.T, cfg HooksConfig, files map[string]string) *hooksHarness {
	t.Helper()
	hh := &hooksHarness{t: t, dir: t.TempDir(), log: &syncLog{}, reloads: make(chan hookReload, 64)}
	for name, content := range files {
		hh.write(name, content)
	}
	cfg.Dir = hh.dir
	h, err := NewHooks(cfg, zerolog.New(hh.log))
	if err != nil {
		t.Fatal(err)
	}
	h.afterReload = func(name string, err error) { hh.reloads <- hookReload{name, err} }
	if err := h.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = h.Stop() })
	hh.h = h
	return hh
}

func (hh *hooksHarness) write(name, content string) {
	hh.t.Helper()
	p := filepath.Join(hh.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		hh.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		hh.t.Fatal(err)
	}
}

// awaitReload waits for the next reload attempt of name (others are skipped).
func (hh *hooksHarness) awaitReload(name string) error {
	hh.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case r := <-hh.reloads:
			if r.name == name {
				return r.err
			}
		case <-deadline:
			hh.t.Fatalf("no reload of %s; log:\n%s", name, hh.log.String())
		}
	}
}

// awaitLog waits until the log contains s (polling: the log has no event to await).
func (hh *hooksHarness) awaitLog(s string) {
	hh.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(hh.log.String(), s) {
		if time.Now().After(deadline) {
			hh.t.Fatalf("log never contained %q:\n%s", s, hh.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ask puts a request to the hooks within their budget.
func (hh *hooksHarness) ask(req plugin.Request) (plugin.Decision, plugin.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), hh.h.Budget())
	defer cancel()
	d := hh.h.Authorize(ctx, &req)
	return d, req
}

func publish(stream string) plugin.Request {
	return plugin.Request{Action: plugin.ActPublish, App: "live", Instance: "_definst_", ClientID: "c1", Stream: stream, PublishType: "live"}
}

const policyJS = `
server.onConnect = function (req) {
  if (req.query.token === "go-away") return {redirect: "rtmp://elsewhere/live", reason: "moved"};
  if (req.query.token === "echo") return {reject: JSON.stringify(req)};
  if (req.query.token === "viewer") return {readAccess: "/public", writeAccess: ""};
};
server.onPublish = function (req) {
  if (req.stream === "blocked") return false;
  if (req.stream === "why") return {reject: "no publishing of why"};
  if (req.stream === "raw") return {stream: "cooked"};
  if (req.stream === "bad-field") return {stream: 42};
  return true;
};
server.onPlay = function (req) {
  return new Promise(function (resolve) {
    setTimeout(function () { resolve(req.stream !== "late-no"); }, 20);
  });
};
server.onSeek = async function (req) {
  if (req.stream === "async-no") return {reject: "async"};
};
server.onRecord = function (req) {
  if (req.stream === "never") return new Promise(function () {});
  if (req.stream === "rejects") return Promise.reject(new Error("record store down"));
  return {recordMaxKB: 1024, recordMaxSeconds: 60};
};
server.onSharedObject = function (req) {
  if (req.sharedObject === "thrower") {
    null.boom;
  }
  if (req.sharedObject === "number") return 42;
};
`

func TestHookVerdicts(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{Budget: 2 * time.Second}, map[string]string{"policy/main.js": policyJS})
	connect := func(q string) plugin.Request {
		return plugin.Request{Action: plugin.ActConnect, App: "live", Instance: "i", ClientID: "c9", IP: "10.0.0.1",
			Protocol: "rtmp", Agent: "FMLE/3.0", Referrer: "http://r/x.swf", PageURL: "http://p/", TcURL: "rtmp://h/live/i",
			ConnectQuery: q, Edge: "edge1", ReadAccess: "/", WriteAccess: "/"}
	}
	cases := []struct {
		name   string
		req    plugin.Request
		want   plugin.Verdict
		reason string
		check  func(t *testing.T, d plugin.Decision, r plugin.Request)
	}{
		{"accept", publish("ok"), plugin.Accept, "", nil},
		{"false", publish("blocked"), plugin.Reject, "refused by hook policy", nil},
		{"reject reason", publish("why"), plugin.Reject, "no publishing of why", nil},
		{"writable stream", publish("raw"), plugin.Accept, "", func(t *testing.T, _ plugin.Decision, r plugin.Request) {
			if r.Stream != "cooked" {
				t.Errorf("stream %q, want cooked", r.Stream)
			}
		}},
		{"bad writable fails closed", publish("bad-field"), plugin.Reject, "refused by hook policy", nil},
		{"redirect", connect("token=go-away"), plugin.Redirect, "moved", func(t *testing.T, d plugin.Decision, _ plugin.Request) {
			if d.RedirectURL != "rtmp://elsewhere/live" {
				t.Errorf("redirect %q", d.RedirectURL)
			}
		}},
		{"access lists", connect("token=viewer"), plugin.Accept, "", func(t *testing.T, _ plugin.Decision, r plugin.Request) {
			if r.ReadAccess != "/public" || r.WriteAccess != "" {
				t.Errorf("access %q %q", r.ReadAccess, r.WriteAccess)
			}
		}},
		{"no handler result", connect(""), plugin.Accept, "", nil},
		{"promise accept", plugin.Request{Action: plugin.ActPlay, Stream: "s"}, plugin.Accept, "", nil},
		{"promise refuse", plugin.Request{Action: plugin.ActPlay, Stream: "late-no"}, plugin.Reject, "refused by hook policy", nil},
		{"async reject", plugin.Request{Action: plugin.ActSeek, Stream: "async-no"}, plugin.Reject, "async", nil},
		{"async accept", plugin.Request{Action: plugin.ActSeek, Stream: "x"}, plugin.Accept, "", nil},
		{"record limits", plugin.Request{Action: plugin.ActRecord, Stream: "r"}, plugin.Accept, "", func(t *testing.T, _ plugin.Decision, r plugin.Request) {
			if r.RecordMaxKB != 1024 || r.RecordMaxSeconds != 60 {
				t.Errorf("record limits %d %d", r.RecordMaxKB, r.RecordMaxSeconds)
			}
		}},
		{"pending past the budget", plugin.Request{Action: plugin.ActRecord, Stream: "never"}, plugin.Reject, "refused by hook policy", nil},
		{"rejected promise", plugin.Request{Action: plugin.ActRecord, Stream: "rejects"}, plugin.Reject, "refused by hook policy", nil},
		{"throw", plugin.Request{Action: plugin.ActSharedObject, SharedObject: "thrower"}, plugin.Reject, "refused by hook policy", nil},
		{"no verdict", plugin.Request{Action: plugin.ActSharedObject, SharedObject: "number"}, plugin.Reject, "refused by hook policy", nil},
		{"so accept", plugin.Request{Action: plugin.ActSharedObject, SharedObject: "ok"}, plugin.Accept, "", nil},
	}
	for _, tc := range cases {
		start := time.Now()
		d, r := hh.ask(tc.req)
		if d.Verdict != tc.want || d.Reason != tc.reason {
			t.Errorf("%s: verdict %v %q, want %v %q; log:\n%s", tc.name, d.Verdict, d.Reason, tc.want, tc.reason, hh.log.String())
			continue
		}
		if tc.check != nil {
			tc.check(t, d, r)
		}
		// A verdict comes when the handler gives it, not when the budget ends.
		if el := time.Since(start); tc.name != "pending past the budget" && el > time.Second {
			t.Errorf("%s took %v", tc.name, el)
		}
	}
	log := hh.log.String()
	for _, want := range []string{"hooks/policy/main.js:29", "record store down", "onSharedObject returned 42"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestHookSeesRequest checks the request object's fields and the parsed query.
func TestHookSeesRequest(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{}, map[string]string{"policy/main.js": policyJS})
	d, _ := hh.ask(plugin.Request{Action: plugin.ActConnect, App: "live", Instance: "i", ClientID: "c9", IP: "10.0.0.1",
		Protocol: "rtmp", Agent: "FMLE/3.0", Referrer: "http://r/x.swf", PageURL: "http://p/", TcURL: "rtmp://h/live/i",
		ConnectQuery: "token=echo&k=1&k=2", Edge: "edge1", ReadAccess: "/", WriteAccess: "/"})
	var got map[string]any
	if err := json.Unmarshal([]byte(d.Reason), &got); err != nil {
		t.Fatalf("%v: %q", err, d.Reason)
	}
	want := map[string]any{"action": "connect", "app": "live", "instance": "i", "clientId": "c9", "ip": "10.0.0.1",
		"protocol": "rtmp", "agent": "FMLE/3.0", "referrer": "http://r/x.swf", "pageUrl": "http://p/", "tcUrl": "rtmp://h/live/i",
		"edge": "edge1", "connectQuery": "token=echo&k=1&k=2", "readAccess": "/", "writeAccess": "/", "stream": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	q, _ := got["query"].(map[string]any)
	if q["token"] != "echo" || len(q["k"].([]any)) != 2 {
		t.Errorf("query %v", got["query"])
	}
}

// TestHooksRunInOrder: every hook must accept, in name order, each seeing the previous one's
// writable fields.
func TestHooksRunInOrder(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{}, map[string]string{
		"a-rename/main.js":    `server.onPublish = function (r) { return {stream: r.stream + "-a"}; };`,
		"b-check/main.js":     `server.onPublish = function (r) { if (r.stream === "x-a") return {reject: "b saw " + r.stream}; return {stream: r.stream + "-b"}; };`,
		"c-nohandler/main.js": `trace("c loaded");`,
		"notes/README":        "a folder without main.js is no hook",
	})
	if got := strings.Join(hh.h.Names(), ","); got != "a-rename,b-check,c-nohandler" {
		t.Fatalf("hooks %s", got)
	}
	if d, _ := hh.ask(publish("x")); d.Verdict != plugin.Reject || d.Reason != "b saw x-a" {
		t.Fatalf("x: %+v", d)
	}
	if d, r := hh.ask(publish("y")); d.Verdict != plugin.Accept || r.Stream != "y-a-b" {
		t.Fatalf("y: %+v %q", d, r.Stream)
	}
	if !strings.Contains(hh.log.String(), "c loaded") {
		t.Fatalf("trace not logged:\n%s", hh.log.String())
	}
}

// TestHookReload: an edit applies to the next request; a syntax error keeps the running code; a
// request pending during the swap is asked again by the new code.
func TestHookReload(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{Budget: 5 * time.Second}, map[string]string{"policy/main.js": `
server.onPublish = function (r) { return r.stream !== "blocked"; };
server.onPlay = function (r) { trace("pending: " + r.stream); return new Promise(function () {}); }; // decided by the next version
`})
	if d, _ := hh.ask(publish("blocked")); d.Verdict != plugin.Reject {
		t.Fatalf("v1 blocked: %+v", d)
	}
	pending := make(chan plugin.Decision, 1)
	go func() {
		d, _ := hh.ask(plugin.Request{Action: plugin.ActPlay, Stream: "p"})
		pending <- d
	}()
	hh.awaitLog("pending: p")

	hh.write("policy/main.js", "server.onPublish = function (r) { return r.stream !== ; };")
	if err := hh.awaitReload("policy"); err == nil || !strings.Contains(err.Error(), "main.js:1:") {
		t.Fatalf("syntax error: %v", err)
	}
	if d, _ := hh.ask(publish("blocked")); d.Verdict != plugin.Reject {
		t.Fatalf("old code gone after a syntax error: %+v", d)
	}

	hh.write("policy/main.js", `
server.onPublish = function (r) { return r.stream !== "other"; };
server.onPlay = function (r) { return {reject: "v2 refuses " + r.stream}; };
`)
	if err := hh.awaitReload("policy"); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if d, _ := hh.ask(publish("blocked")); d.Verdict != plugin.Accept {
		t.Fatalf("v2 blocked: %+v", d)
	}
	if d, _ := hh.ask(publish("other")); d.Verdict != plugin.Reject {
		t.Fatalf("v2 other: %+v", d)
	}
	select {
	case d := <-pending:
		if d.Verdict != plugin.Reject || d.Reason != "v2 refuses p" {
			t.Fatalf("pending request: %+v", d)
		}
	case <-time.After(waitLimit):
		t.Fatal("the pending request was not asked again")
	}

	hh.write("policy/main.js", "throw new Error('top level fails');")
	if err := hh.awaitReload("policy"); err == nil || !strings.Contains(err.Error(), "top level fails") {
		t.Fatalf("throwing top level: %v", err)
	}
	if d, _ := hh.ask(publish("other")); d.Verdict != plugin.Reject {
		t.Fatalf("old code gone after a throwing top level: %+v", d)
	}
}

// TestHooksAddRemove: a new folder is a new hook at once (a broken one refuses everything); a
// removed one stops applying.
func TestHooksAddRemove(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{}, nil)
	if d, _ := hh.ask(publish("x")); d.Verdict != plugin.Accept {
		t.Fatalf("no hooks: %+v", d)
	}
	hh.write("late/main.js", `server.onPublish = function (r) { return r.stream !== "x"; };`)
	if err := hh.awaitReload("late"); err != nil {
		t.Fatal(err)
	}
	if d, _ := hh.ask(publish("x")); d.Verdict != plugin.Reject {
		t.Fatalf("added hook: %+v", d)
	}
	hh.write("broken/main.js", `server.onPublish = ;`)
	if err := hh.awaitReload("broken"); err == nil {
		t.Fatal("broken hook loaded")
	}
	if d, _ := hh.ask(publish("y")); d.Verdict != plugin.Reject {
		t.Fatalf("a broken hook must fail closed: %+v", d)
	}
	for _, name := range []string{"broken", "late"} {
		if err := os.RemoveAll(filepath.Join(hh.dir, name)); err != nil {
			t.Fatal(err)
		}
		if err := hh.awaitReload(name); !errors.Is(err, ErrNoApp) {
			t.Fatalf("remove %s: %v", name, err)
		}
	}
	if d, _ := hh.ask(publish("x")); d.Verdict != plugin.Accept {
		t.Fatalf("removed hooks still apply: %+v", d)
	}
}

// TestHookEvents: onEvent sees the server's events before later requests, in order.
func TestHookEvents(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{}, map[string]string{"live-only/main.js": `
var live = {};
server.onEvent = function (ev) {
  if (ev.type === "publish") live[ev.stream] = ev.seq;
  if (ev.type === "unpublish") delete live[ev.stream];
  if (ev.type === "disconnect") throw new Error("bad event handler");
};
server.onPlay = function (r) { return r.stream in live ? true : {reject: "not live: " + r.stream}; };
`})
	play := plugin.Request{Action: plugin.ActPlay, Stream: "cam"}
	if d, _ := hh.ask(play); d.Verdict != plugin.Reject || d.Reason != "not live: cam" {
		t.Fatalf("before publish: %+v", d)
	}
	hh.h.HandleEvent(context.Background(), &plugin.Event{Kind: plugin.EvPublish, Seq: 1, Stream: "cam", Time: time.Now()})
	if d, _ := hh.ask(play); d.Verdict != plugin.Accept {
		t.Fatalf("after publish: %+v", d)
	}
	hh.h.HandleEvent(context.Background(), &plugin.Event{Kind: plugin.EvDisconnect, Seq: 2})
	hh.h.HandleEvent(context.Background(), &plugin.Event{Kind: plugin.EvUnpublish, Seq: 3, Stream: "cam"})
	if d, _ := hh.ask(play); d.Verdict != plugin.Reject {
		t.Fatalf("after unpublish: %+v", d)
	}
	if log := hh.log.String(); !strings.Contains(log, "bad event handler") || !strings.Contains(log, "main.js:6") {
		t.Fatalf("onEvent error not logged with its stack:\n%s", log)
	}
}

const spinJS = `server.onPublish = function (r) { if (r.stream === "spin") for (;;) {} };`

// TestHookSpinIsInterrupted: a handler that spins is interrupted after its budget and the
// request refused (long before the request's own budget), and the hook goes on serving.
func TestHookSpinIsInterrupted(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{HandlerTimeout: 50 * time.Millisecond, Budget: 5 * time.Second},
		map[string]string{"spin/main.js": spinJS})
	start := time.Now()
	if d, _ := hh.ask(publish("spin")); d.Verdict != plugin.Reject {
		t.Fatalf("spin: %+v", d)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("spin refused after %v: not by the handler's interrupt", el)
	}
	if d, _ := hh.ask(publish("ok")); d.Verdict != plugin.Accept {
		t.Fatalf("after a spin: %+v", d)
	}
	if !strings.Contains(hh.log.String(), "js handler timed out") {
		t.Fatalf("timeout not logged:\n%s", hh.log.String())
	}
}

// TestHookOverCPUShareRestarts: a hook that keeps spinning is slowed, then stopped at its CPU
// share; it refuses every request meanwhile, and is started again from its files.
func TestHookOverCPUShareRestarts(t *testing.T) {
	t.Parallel()
	hh := newHooksHarness(t, HooksConfig{HandlerTimeout: 50 * time.Millisecond, Budget: 5 * time.Second,
		Contain: Containment{CPUShare: 0.2, CPUWindow: time.Second}},
		map[string]string{"spin/main.js": spinJS})
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(hh.log.String(), "requests are refused until it restarts") {
		if time.Now().After(deadline) {
			t.Fatalf("the spinning hook was never stopped:\n%s", hh.log.String())
		}
		if d, _ := hh.ask(publish("spin")); d.Verdict != plugin.Reject {
			t.Fatalf("spin accepted: %+v", d)
		}
	}
	if d, _ := hh.ask(publish("ok")); d.Verdict != plugin.Reject {
		t.Fatalf("a stopped hook must fail closed: %+v", d)
	}
	if err := hh.awaitReload("spin"); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if d, _ := hh.ask(publish("ok")); d.Verdict != plugin.Accept {
		t.Fatalf("after the restart: %+v\n%s", d, hh.log.String())
	}
}

// TestHooksStartRefusesBrokenCode: a server does not start without the policy it was given.
func TestHooksStartRefusesBrokenCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p", "main.js"), []byte("server.onConnect = function ( {"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := NewHooks(HooksConfig{Dir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err == nil || !strings.Contains(err.Error(), "hooks/p/main.js:1:") {
		t.Fatalf("start: %v", err)
	}
	if _, err := NewHooks(HooksConfig{Dir: filepath.Join(dir, "missing")}, zerolog.Nop()); err == nil {
		t.Fatal("a missing folder must be an error")
	}
}

// TestHooksIsAModule: the Host files it under auth and events.
func TestHooksIsAModule(t *testing.T) {
	t.Parallel()
	h, err := NewHooks(HooksConfig{Dir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var sel plugin.Selection
	sel.Add(h)
	host, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = host.Stop(context.Background()) }()
	if !host.HasAuth() || !host.HasEvents() || host.IDs()[0] != HooksID {
		t.Fatalf("host: auth %v events %v ids %v", host.HasAuth(), host.HasEvents(), host.IDs())
	}
}

// TestSampleHookPolicy keeps samples/hooks/policy working as docs/hooks.md describes it.
func TestSampleHookPolicy(t *testing.T) {
	t.Parallel()
	h, err := NewHooks(HooksConfig{Dir: filepath.Join("..", "samples", "hooks")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Stop() }()
	ask := func(r plugin.Request) (plugin.Decision, plugin.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d := h.Authorize(ctx, &r)
		return d, r
	}
	cases := []struct {
		req    plugin.Request
		want   plugin.Verdict
		reason string
	}{
		{plugin.Request{Action: plugin.ActConnect, App: "live", IP: "203.0.113.7"}, plugin.Reject, "banned"},
		{plugin.Request{Action: plugin.ActConnect, App: "old-live", IP: "10.0.0.1"}, plugin.Redirect, "moved"},
		{plugin.Request{Action: plugin.ActConnect, App: "live", IP: "10.0.0.1"}, plugin.Accept, ""},
		{plugin.Request{Action: plugin.ActPublish, App: "live", Stream: "cam"}, plugin.Reject, "publishing to live needs a key"},
		{plugin.Request{Action: plugin.ActPublish, App: "live", Stream: "cam", StreamQuery: "key=change-me-too"}, plugin.Accept, ""},
		{plugin.Request{Action: plugin.ActPublish, App: "chat", Stream: "a b"}, plugin.Reject, "bad stream name"},
		{plugin.Request{Action: plugin.ActPlay, App: "live", Stream: "cam"}, plugin.Accept, ""},
	}
	for _, tc := range cases {
		if d, _ := ask(tc.req); d.Verdict != tc.want || d.Reason != tc.reason {
			t.Errorf("%+v: %v %q, want %v %q", tc.req, d.Verdict, d.Reason, tc.want, tc.reason)
		}
	}
	_, r := ask(plugin.Request{Action: plugin.ActConnect, App: "live", IP: "10.0.0.2", PageURL: "https://partner.example.com/player",
		ReadAccess: "/", WriteAccess: "/"})
	if r.ReadAccess != "partner" || r.WriteAccess != "" {
		t.Errorf("partner access %q %q", r.ReadAccess, r.WriteAccess)
	}
}
