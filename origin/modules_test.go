package origin

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// policyModule is an auth module whose rules a test writes in Go, and an events module that
// records every event.
type policyModule struct {
	mu     sync.Mutex
	events []plugin.Event
	asked  []plugin.Request
}

func (p *policyModule) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.policy", New: func() plugin.Module { return new(policyModule) }}
}

func (p *policyModule) Authorize(_ context.Context, r *plugin.Request) plugin.Decision {
	p.mu.Lock()
	p.asked = append(p.asked, *r)
	p.mu.Unlock()
	q := r.Query()
	switch {
	case r.Action == plugin.ActConnect && q.Get("deny") != "":
		return plugin.Decision{Verdict: plugin.Reject, Reason: "denied by policy"}
	case r.Action == plugin.ActConnect && q.Get("moved") != "":
		return plugin.Decision{Verdict: plugin.Redirect, RedirectURL: "rtmp://other.example/live"}
	case r.Action == plugin.ActConnect && q.Get("reader") != "":
		r.ReadAccess = "public"
	case r.Action == plugin.ActPublish && r.Stream == "blocked":
		return plugin.Decision{Verdict: plugin.Reject, Reason: "publishing blocked is not allowed"}
	case r.Action == plugin.ActPlay && r.Stream == "alias":
		r.Stream = "real"
	case r.Action == plugin.ActSharedObject && r.SharedObject == "locked":
		return plugin.Decision{Verdict: plugin.Reject, Reason: "locked"}
	}
	return plugin.Decision{Verdict: plugin.Accept}
}

func (p *policyModule) HandleEvent(_ context.Context, ev *plugin.Event) {
	p.mu.Lock()
	p.events = append(p.events, *ev)
	p.mu.Unlock()
}

// kinds returns the kinds of the events of one client, in order.
func (p *policyModule) kinds(clientID string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.events {
		if ev.ClientID == clientID {
			out = append(out, ev.Kind.String()+":"+ev.Stream)
		}
	}
	return out
}

func startPolicyOrigin(t *testing.T) (*testOrigin, *policyModule) {
	pm := &policyModule{}
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(pm) }, "live")
	return o, pm
}

// TestAuthModuleDecidesBeforeTheApp: an auth module's refusals reach the client with its reason
// (connect rejected, redirect with ex.code 302, publish BadName, shared object NoReadAccess), its
// rewrites apply (a play of "alias" plays "real"; readAccess set at connect refuses a play), and
// the app never sees what the module refused.
func TestAuthModuleDecidesBeforeTheApp(t *testing.T) {
	t.Parallel()
	o, _ := startPolicyOrigin(t)
	o.writeApp(t, "live", `var published = [];
application.onPublish = function (c, s) { published.push(s.name); };
Client.prototype.published = function () { return published.join(","); };`)

	_, err := rtmpclient.Dial(ctx5(t), o.url("live?deny=1"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || se.Info.String("description") != "denied by policy" {
		t.Fatalf("denied connect: %v", err)
	}
	_, err = rtmpclient.Dial(ctx5(t), o.url("live?moved=1"), rtmpclient.Options{})
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" {
		t.Fatalf("redirected connect: %v", err)
	}
	exv, _ := se.Info.Get("ex")
	ex, _ := exv.(*amf.Object)
	if code, _ := ex.Number("code"); code != 302 || ex.String("redirect") != "rtmp://other.example/live" {
		t.Fatalf("redirect ex: %v", se.Info)
	}

	c := dial(t, o.url("live"), rtmpclient.Options{})
	if code, desc := clienttest.PublishCode(t, c, "blocked"); code != "NetStream.Publish.BadName" || desc != "publishing blocked is not allowed" {
		t.Fatalf("blocked publish: %s %q", code, desc)
	}
	pub, sid := startPublisher(t, o, "live", "real")
	publishHeaders(t, pub, sid)
	pub.WriteMedia(sid, 9, 0, videoFrame(0, true, 100))
	if got, err := c.Call(ctx5(t), "published"); err != nil || got != "real" {
		t.Fatalf("the app saw publishes %v (%v), want only real", got, err)
	}

	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	pl := collect(t, player, psid, "alias", 1)
	if len(pl.statuses) == 0 || pl.statuses[len(pl.statuses)-1] != "NetStream.Play.Start" {
		t.Fatalf("play of alias: %v", pl.statuses)
	}

	reader := dial(t, o.url("live?reader=1"), rtmpclient.Options{})
	if code, desc := clienttest.PlayCode(t, reader, "real"); code != "NetStream.Play.Failed" || !strings.Contains(desc, "readAccess") {
		t.Fatalf("play outside the readAccess the module set: %s %q", code, desc)
	}

	so := dialSO(t, o, "live", "so", false)
	so.send("locked", false, sharedobject.Event{Type: sharedobject.EventUse})
	if m := so.next(ctx5(t)); len(m.events) == 0 || m.events[0].Type != sharedobject.EventStatus {
		t.Fatalf("use of a locked object: %s", m)
	}
	so.use(ctx5(t), "open", false)
}

// TestEventsFollowEachSession: an events module gets connect, publish, unpublish and
// disconnect of a publisher, and connect, play, stop and disconnect of a player, in order.
func TestEventsFollowEachSession(t *testing.T) {
	t.Parallel()
	o, pm := startPolicyOrigin(t)
	pub, sid := startPublisher(t, o, "live", "ev")
	publishHeaders(t, pub, sid)
	pub.WriteMedia(sid, 9, 0, videoFrame(0, true, 100))
	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	collect(t, player, psid, "ev", 1)
	pubID, playerID := clientIDOf(t, pm, "publish"), clientIDOf(t, pm, "play")
	pub.Close()
	player.Close()
	want := map[string]string{
		pubID:    "connect: publish:ev unpublish:ev disconnect:",
		playerID: "connect: play:ev stop:ev disconnect:",
	}
	for id, w := range want {
		waitFor(t, 5*time.Second, "the events of "+id, func() bool { return strings.Join(pm.kinds(id), " ") == w })
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	for _, ev := range pm.events {
		if ev.Kind == plugin.EvDisconnect && (ev.BytesIn == 0 || ev.Duration <= 0) {
			t.Errorf("disconnect without bytes or duration: %+v", ev)
		}
		if ev.Kind == plugin.EvUnpublish && (ev.BytesIn == 0 || ev.Duration <= 0) {
			t.Errorf("unpublish without the stream's bytes or duration: %+v", ev)
		}
		if ev.Kind == plugin.EvStop && (ev.BytesOut == 0 || ev.Duration <= 0) {
			t.Errorf("stop without the play's bytes or duration: %+v", ev)
		}
	}
}

// clientIDOf waits for the first event of kind and returns its client.
func clientIDOf(t *testing.T, pm *policyModule, kind string) string {
	var id string
	waitFor(t, 5*time.Second, "a "+kind+" event", func() bool {
		pm.mu.Lock()
		defer pm.mu.Unlock()
		for _, ev := range pm.events {
			if ev.Kind.String() == kind {
				id = ev.ClientID
				return true
			}
		}
		return false
	})
	return id
}

// policyConfig is a module configured from a file: its one key says which stream to refuse.
type policyConfig struct {
	Refuse string `toml:"refuse"`
}

func (p *policyConfig) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.policyconfig", New: func() plugin.Module { return new(policyConfig) }}
}

func (p *policyConfig) Authorize(_ context.Context, r *plugin.Request) plugin.Decision {
	if r.Stream == p.Refuse {
		return plugin.Decision{Verdict: plugin.Reject}
	}
	return plugin.Decision{}
}

func init() {
	plugin.Register(plugin.ModuleInfo{ID: "test.policyconfig", New: func() plugin.Module { return new(policyConfig) }})
}

// TestConfigFileSelectsModules: [modules."ID"] selects a registered module with its table; a
// key it does not know is an error naming the line; so is an ID the binary lacks.
func TestConfigFileSelectsModules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(text string) (Config, error) {
		p := dir + "/origin.toml"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		return cfg, config.Load(p, &cfg)
	}
	cfg, err := load("rtmp = \"127.0.0.1:0\"\n\n[modules.\"test.policyconfig\"]\nrefuse = \"x\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if mods := cfg.Plugins.Modules(); len(mods) != 1 || mods[0].(*policyConfig).Refuse != "x" {
		t.Fatalf("selected %#v", mods)
	}
	if _, err := load("[modules.\"test.policyconfig\"]\nrefuse = \"x\"\nrefsue = \"y\"\n"); err == nil || !strings.Contains(err.Error(), ":3:") {
		t.Fatalf("unknown module key: %v", err)
	}
	if _, err := load("[modules.\"auth.nosuch\"]\n"); err == nil || !strings.Contains(err.Error(), `unknown module "auth.nosuch"`) {
		t.Fatalf("unknown module: %v", err)
	}
}

// TestAppEventsReachModules: an instance's load, a reload, a reload that fails and the unload at
// shutdown are events.
func TestAppEventsReachModules(t *testing.T) {
	t.Parallel()
	o, pm := startPolicyOrigin(t)
	o.writeApp(t, "live", `application.onConnect = function (c) { return true; };`)
	dial(t, o.url("live/room"), rtmpclient.Options{})
	appKinds := func() string {
		pm.mu.Lock()
		defer pm.mu.Unlock()
		var out []string
		for _, ev := range pm.events {
			if ev.ClientID == "" {
				out = append(out, ev.Kind.String()+":"+ev.App+"/"+ev.Instance)
			}
		}
		return strings.Join(out, " ")
	}
	waitFor(t, 5*time.Second, "appLoad", func() bool { return appKinds() == "appLoad:live/room" })
	o.writeApp(t, "live", `application.onConnect = function (c) { return 1; };`)
	waitFor(t, 5*time.Second, "appReload", func() bool { return appKinds() == "appLoad:live/room appReload:live/room" })
	o.writeApp(t, "live", `application.onAppStart = function () { throw new Error("broken"); };`)
	waitFor(t, 5*time.Second, "appError", func() bool { return strings.HasSuffix(appKinds(), "appError:live/room") })
}

// TestChangedModulesNeedARestart: a reload sees a changed [modules] table as one key needing a
// restart, and an unchanged one as no change.
func TestChangedModulesNeedARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(text string) Config {
		p := dir + "/origin.toml"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		if err := config.Load(p, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a := load("[modules.\"test.policyconfig\"]\nrefuse = \"x\"\n")
	b := load("[modules.\"test.policyconfig\"]\nrefuse = \"x\"\n")
	c := load("[modules.\"test.policyconfig\"]\nrefuse = \"y\"\n")
	if ch := config.Changed(a, b); len(ch) != 0 {
		t.Fatalf("unchanged file: %v", ch)
	}
	if ch := config.Changed(a, c); len(ch) != 1 || ch[0] != "modules" {
		t.Fatalf("changed module table: %v", ch)
	}
}
