package edge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/origin"
	"github.com/rs/zerolog"
)

// soClient uses remote shared objects the way Flash does: type 19 messages, or type 16 for an
// AMF3 client, and reads what the server (origin or edge) sends back.
type soClient struct {
	t    testing.TB
	name string
	c    *rtmpclient.Client
	amf3 bool
	enc  amf.Encoder
}

// soMsg is one received shared-object message, decoded.
type soMsg struct {
	name    string
	version uint32
	flags   uint32
	events  []sharedobject.Event
}

func dialSO(t testing.TB, url, name string, amf3 bool) *soClient {
	t.Helper()
	opt := rtmpclient.Options{}
	if amf3 {
		opt.ObjectEncoding = 3
	}
	c, err := rtmpclient.Dial(context.Background(), url, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return &soClient{t: t, name: name, c: c, amf3: amf3}
}

func (p *soClient) typeID() uint8 {
	if p.amf3 {
		return rtmpmsg.TypeSharedObjectAMF3
	}
	return rtmpmsg.TypeSharedObjectAMF0
}

func (p *soClient) send(name string, persistent bool, evs ...sharedobject.Event) {
	p.t.Helper()
	m := rtmpmsg.SharedObjectMessage{Name: name}
	if persistent {
		m.Flags = 2
	}
	for i := range evs {
		raw, err := sharedobject.EncodeEvent(&p.enc, &evs[i], p.amf3)
		if err != nil {
			p.t.Fatal(err)
		}
		m.Events = append(m.Events, raw)
	}
	p.sendRaw(rtmpmsg.AppendSharedObject(nil, &m, p.amf3))
}

func (p *soClient) sendRaw(payload []byte) {
	p.t.Helper()
	if err := p.c.WriteMessage(chunk.Header{CSID: 3, TypeID: p.typeID()}, payload); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next shared-object message, skipping everything else; a message of the
// other type (19 for an AMF3 client or 16 for an AMF0 one) fails the test.
func (p *soClient) next(ctx context.Context) soMsg {
	p.t.Helper()
	for {
		ev, err := p.c.NextEvent(ctx)
		if err != nil {
			p.t.Fatalf("%s: waiting for a shared object message: %v", p.name, err)
		}
		if ev.Kind != rtmpclient.EventSharedObject {
			continue
		}
		if ev.TypeID != p.typeID() {
			p.t.Fatalf("%s: shared object message of type %d, want %d", p.name, ev.TypeID, p.typeID())
		}
		m, err := rtmpmsg.DecodeSharedObject(ev.TypeID, ev.Payload)
		if err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
		evs, err := sharedobject.DecodeEvents(&m)
		if err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
		return soMsg{name: m.Name, version: m.Version, flags: m.Flags, events: evs}
	}
}

func (p *soClient) use(ctx context.Context, name string, persistent bool) soMsg {
	p.t.Helper()
	p.send(name, persistent, sharedobject.Event{Type: sharedobject.EventUse})
	m := p.next(ctx)
	if len(m.events) == 0 || m.events[0].Type != sharedobject.EventUseSuccess {
		p.t.Fatalf("%s: use %q answered with %+v", p.name, name, m)
	}
	return m
}

// slots collects the Change pairs of a message (a state snapshot after Use).
func (m soMsg) slots() map[string]any {
	out := map[string]any{}
	for _, e := range m.events {
		if e.Type == sharedobject.EventChange {
			for _, p := range e.Pairs {
				out[p.Key] = p.Value
			}
		}
	}
	return out
}

func change(key string, v any) sharedobject.Event {
	return sharedobject.Event{Type: sharedobject.EventRequestChange, Pairs: []sharedobject.Pair{{Key: key, Value: v}}}
}

func changed(key string, v any) sharedobject.Event {
	return sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: key, Value: v}}}
}

func expectSO(t testing.TB, who string, m soMsg, version uint32, want ...sharedobject.Event) {
	t.Helper()
	if !reflect.DeepEqual(m.events, want) || m.version != version {
		t.Fatalf("%s got v%d %+v, want v%d %+v", who, m.version, m.events, version, want)
	}
}

const soEdgeApp = `application.onConnect = function (c) { return true; };`

// TestSharedObjectAcrossEdges: a client on edge A, one on edge B and one on the origin share one
// remote object, in AMF0, AMF3 and mixed: a change reaches the others once with the new version
// and its author gets Success; a direct client's change reaches the edge clients; send reaches
// everyone; a late joiner through an edge gets the full state.
func TestSharedObjectAcrossEdges(t *testing.T) {
	t.Parallel()
	for _, enc := range []struct {
		name             string
		aAMF, bAMF, dAMF bool
	}{{"amf0", false, false, false}, {"amf3", true, true, true}, {"mixed", false, true, false}} {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "", map[string]string{"so": soEdgeApp})
			ea, eb := startEdge(t, "", o), startEdge(t, "", o)
			ctx := ctx5(t)
			a, b := dialSO(t, ea.url("so"), "a", enc.aAMF), dialSO(t, eb.url("so"), "b", enc.bAMF)
			d := dialSO(t, "rtmp://"+o.srv.RTMPAddr().String()+"/so", "direct", enc.dAMF)
			expectSO(t, "a use", a.use(ctx, "board", false), 0,
				sharedobject.Event{Type: sharedobject.EventUseSuccess}, sharedobject.Event{Type: sharedobject.EventClear})
			b.use(ctx, "board", false)
			d.use(ctx, "board", false)

			a.send("board", false, change("x", 1.0))
			expectSO(t, "a", a.next(ctx), 1, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "x"})
			expectSO(t, "b", b.next(ctx), 1, changed("x", 1.0))
			expectSO(t, "direct", d.next(ctx), 1, changed("x", 1.0))

			d.send("board", false, change("y", "from the origin"))
			expectSO(t, "direct", d.next(ctx), 2, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "y"})
			expectSO(t, "a", a.next(ctx), 2, changed("y", "from the origin"))
			expectSO(t, "b", b.next(ctx), 2, changed("y", "from the origin"))

			b.send("board", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello", Args: []any{"b", 2.0}})
			for _, p := range []*soClient{a, b, d} {
				m := p.next(ctx)
				if len(m.events) != 1 || m.events[0].Type != sharedobject.EventSendMessage || m.events[0].Method != "hello" ||
					!reflect.DeepEqual(m.events[0].Args, []any{"b", 2.0}) {
					t.Fatalf("%s: send arrived as %+v", p.name, m)
				}
			}

			late := dialSO(t, ea.url("so"), "late", enc.bAMF)
			m := late.use(ctx, "board", false)
			if want := map[string]any{"x": 1.0, "y": "from the origin"}; !reflect.DeepEqual(m.slots(), want) || m.version != 2 {
				t.Fatalf("late joiner got v%d %v, want v2 %v", m.version, m.slots(), want)
			}
		})
	}
}

// soWatchApp lets a direct client watch edge clients leave: onDisconnect calls it with the id.
const soWatchApp = `
var watcher = null;
application.onConnect = function (c) { return true; };
application.onDisconnect = function (c) { if (watcher !== null && c !== watcher) watcher.call("gone", null, c.id); };
Client.prototype.watch = function () { watcher = this; return true; };
Client.prototype.leave = function () { application.disconnect(this); return true; };
`

// TestSharedObjectReleasedWhenEdgeClientLeaves: when an edge client leaves (or the app
// disconnects it) the origin releases its subscriptions: the transient object it alone used is
// dropped, so the next user finds it empty.
func TestSharedObjectReleasedWhenEdgeClientLeaves(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"client leaves", "app disconnects"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "", map[string]string{"so": soWatchApp})
			e := startEdge(t, "", o)
			ctx := ctx5(t)
			direct := "rtmp://" + o.srv.RTMPAddr().String() + "/so"
			w := dialSO(t, direct, "watcher", false)
			if _, err := w.c.Call(ctx, "watch"); err != nil {
				t.Fatal(err)
			}
			a := dialSO(t, e.url("so"), "a", false)
			a.use(ctx, "tmp", false)
			a.send("tmp", false, change("x", 1.0))
			expectSO(t, "a", a.next(ctx), 1, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "x"})
			if how == "client leaves" {
				a.c.Close()
			} else if _, err := a.c.Call(ctx, "leave"); err == nil {
				t.Fatal("leave answered although the app disconnected the client")
			}
			awaitCall(t, w.c, "gone")
			d := dialSO(t, direct, "d", false)
			if m := d.use(ctx, "tmp", false); len(m.slots()) != 0 || m.version != 0 {
				t.Fatalf("the object outlived its only (edge) subscriber: v%d %v", m.version, m.slots())
			}
		})
	}
}

// awaitCall waits for a server→client call named name.
func awaitCall(t *testing.T, c *rtmpclient.Client, name string) {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("waiting for a call to %s: %v", name, err)
		}
		if ev.Kind == rtmpclient.EventCommand && ev.Name == name {
			return
		}
	}
}

// TestSharedObjectHostileEdgeClient: a shared-object message with a bad event length (caught by
// the edge) or a malformed event (caught by the origin) closes that client only; the trunk and
// the other edge client on the same object carry on.
func TestSharedObjectHostileEdgeClient(t *testing.T) {
	t.Parallel()
	bad := map[string]func(p *soClient) []byte{
		"bad event length": func(p *soClient) []byte {
			m := rtmpmsg.SharedObjectMessage{Name: "board", Events: []rtmpmsg.SharedObjectEvent{{Type: 3, Data: []byte{0, 1, 'x', 0}}}}
			b := rtmpmsg.AppendSharedObject(nil, &m, p.amf3)
			b[len(b)-5-1] = 0xFF // the event's length now runs past the message
			return b
		},
		"malformed event": func(p *soClient) []byte {
			m := rtmpmsg.SharedObjectMessage{Name: "board", Events: []rtmpmsg.SharedObjectEvent{{Type: 3, Data: []byte{0, 9, 'x'}}}}
			return rtmpmsg.AppendSharedObject(nil, &m, p.amf3)
		},
	}
	for name, payload := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "", map[string]string{"so": soEdgeApp})
			e := startEdge(t, "", o)
			ctx := ctx5(t)
			good, evil := dialSO(t, e.url("so"), "good", false), dialSO(t, e.url("so"), "evil", true)
			good.use(ctx, "board", false)
			evil.use(ctx, "board", false)
			evil.sendRaw(payload(evil))
			for {
				if _, err := evil.c.NextEvent(ctx); err != nil {
					if ctx.Err() != nil {
						t.Fatal("the hostile client was not closed")
					}
					break
				}
			}
			good.send("board", false, change("still", true))
			expectSO(t, "good", good.next(ctx), 1, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "still"})
			if n := o.srv.TrunkConns(); n != 1 || e.srv.TrunksUp() != 1 {
				t.Fatalf("trunk connections %d after a hostile client, want the same 1", n)
			}
			late := dialSO(t, e.url("so"), "late", false)
			if m := late.use(ctx, "board", false); fmt.Sprint(m.slots()) != "map[still:true]" {
				t.Fatalf("late joiner after a hostile client: %v", m.slots())
			}
		})
	}
}

// TestSharedObjectPersistentThroughEdge: a persistent object set by an edge client is saved on the
// origin and, after the origin restarts on the same data folder, served again through the edge
// with its slots and version.
func TestSharedObjectPersistentThroughEdge(t *testing.T) {
	t.Parallel()
	const app = soEdgeApp + `
Client.prototype.save = function (name) { return SharedObject.get(name, true).flush(); };`
	apps, data := writeApps(t, map[string]string{"so": app}), t.TempDir()
	if err := os.WriteFile(filepath.Join(apps, "so", "app.json"), []byte(`{"persistentSharedObjects": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startOriginDirs(t, "127.0.0.1:0", apps, data)
	e := startEdge(t, "", o)
	ctx := ctx5(t)
	a := dialSO(t, e.url("so"), "a", true)
	if m := a.use(ctx, "scores", true); m.flags == 0 {
		t.Fatalf("a persistent object's Use reply has flags 0: %+v", m)
	}
	a.send("scores", true, change("alice", 10.0))
	expectSO(t, "a", a.next(ctx), 1, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "alice"})
	if v, err := a.c.Call(ctx, "save", "scores"); err != nil || v != true {
		t.Fatalf("save: %v %v", v, err)
	}
	a.c.Close()
	trunkAddr := o.srv.TrunkAddr().String()
	o.stop()
	// the edge must see the old trunk go before the new origin starts, or a connect could still
	// take the dead trunk
	waitFor(t, "the edge to see the origin go", func() bool { return e.srv.TrunksUp() == 0 })

	startOriginDirs(t, trunkAddr, apps, data)
	waitFor(t, "the edge to reconnect", func() bool { return e.srv.TrunksUp() == 1 })
	b := dialSO(t, e.url("so"), "b", false)
	m := b.use(ctx, "scores", true)
	if got := m.slots(); m.version != 1 || len(got) != 1 || got["alice"] != 10.0 {
		t.Fatalf("after the origin restarted: v%d %v, want v1 alice=10", m.version, got)
	}
}

// startOriginDirs runs an origin on given apps and data folders, its trunk on trunkAddr.
func startOriginDirs(t *testing.T, trunkAddr, apps, data string) *testOrigin {
	t.Helper()
	cfg := origin.DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", trunkAddr, ""
	cfg.Apps, cfg.Data = apps, data
	cfg.Limits.DrainTimeout = time.Second
	logs := &syncBuffer{}
	srv, err := origin.New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() { cancel(); srv.Shutdown() })
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("origin logs:\n%s", tail(logs.String(), 40))
		}
	})
	return &testOrigin{srv: srv, logs: logs, stop: stop}
}

// TestSharedObjectAccessThroughEdge: the app's readAccess and writeAccess apply to an edge client
// as to a direct one (the registry identifies the session by its client id).
func TestSharedObjectAccessThroughEdge(t *testing.T) {
	t.Parallel()
	const app = `
application.onConnect = function (c, read, write) {
  if (read !== undefined) c.readAccess = read;
  if (write !== undefined) c.writeAccess = write;
  return true;
};`
	o := startOrigin(t, "", map[string]string{"so": app})
	e := startEdge(t, "", o)
	ctx := ctx5(t)
	c, err := rtmpclient.Dial(ctx, e.url("so"), rtmpclient.Options{ObjectEncoding: 3, ConnectArgs: []any{"lobby;public", "public"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &soClient{t: t, name: "limited", c: c, amf3: true}
	p.send("private", false, sharedobject.Event{Type: sharedobject.EventUse})
	if m := p.next(ctx); len(m.events) != 1 || m.events[0].Code != sharedobject.CodeNoReadAccess {
		t.Fatalf("use of private: %+v", m)
	}
	p.use(ctx, "lobby", false)
	p.send("lobby", false, change("k", 1.0))
	if m := p.next(ctx); len(m.events) == 0 || m.events[0].Code != sharedobject.CodeNoWriteAccess {
		t.Fatalf("write to lobby: %+v", m)
	}
	p.use(ctx, "public", false)
	p.send("public", false, change("k", 1.0))
	expectSO(t, "write to public", p.next(ctx), 1, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "k"})
}
