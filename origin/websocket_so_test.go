package origin

import (
	"context"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

// awaitSync waits for the next so.sync of name on p.
func awaitSync(ctx context.Context, p *wsPeer, name string) wsmsg.Message {
	return p.Await(ctx, "so.sync of "+name, func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOSync && m.Name == name })
}

// syncSlots is the slots a so.sync sets (change and reject items with a value).
func syncSlots(m wsmsg.Message) map[string]any {
	out := map[string]any{}
	for _, c := range m.Changes {
		if c.HasValue {
			out[c.Name] = c.Value
		}
	}
	return out
}

// hasChange reports whether m has an item of code for slot name.
func hasChange(m wsmsg.Message, code, name string) bool {
	for _, c := range m.Changes {
		if c.Code == code && c.Name == name {
			return true
		}
	}
	return false
}

func stroke(color string, points ...float64) *amf.Object {
	pts := make([]any, len(points))
	for i, p := range points {
		pts[i] = p
	}
	return &amf.Object{Props: []amf.Prop{{Key: "color", Value: color}, {Key: "points", Value: &amf.Array{Dense: pts}}}}
}

// TestWebSocketWhiteboard drives apps/whiteboard with a WebSocket client and an RTMP client on
// the same objects: presence through a server-written object (a browser's write refused and
// reverted), a stroke from each side reaching the other's copy, the server overruling a write,
// a delete, and a browser's departure.
func TestWebSocketWhiteboard(t *testing.T) {
	t.Parallel()
	o := startWebOrigin(t, nil, "other")
	copyRepoApp(t, o, "whiteboard")
	ctx := ctx5(t)
	wes := connectWS(t, o, "whiteboard/room1", "wes")
	ann := &soPeer{t: t, name: "ann", c: dial(t, o.url("whiteboard/room1"), rtmpclient.Options{ConnectArgs: []any{"ann"}})}

	// ann's presence slot is set by onConnectAccept, which may run after wes's use: collect.
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "users"})
	users := awaitSync(ctx, wes, "users")
	if len(users.Changes) == 0 || users.Changes[0].Code != wsmsg.CodeClear {
		t.Fatalf("users: %s, want clear first", show(users))
	}
	names := map[any]bool{}
	for {
		for _, v := range syncSlots(users) {
			names[v] = true
		}
		if names["wes"] && names["ann"] {
			break
		}
		users = awaitSync(ctx, wes, "users")
	}
	if len(names) != 2 {
		t.Fatalf("users: %v", names)
	}
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOSet, Name: "users", Key: "x", Value: "intruder"})
	st := wes.Await(ctx, "so.status", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOStatus })
	if infoString(st.Info, "code") != sharedobject.CodeNoWriteAccess {
		t.Fatalf("writing users: %s", show(st))
	}
	if m := awaitSync(ctx, wes, "users"); !hasChange(m, wsmsg.CodeReject, "x") || m.Changes[0].HasValue {
		t.Fatalf("revert of x: %s", show(m))
	}

	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "board", Persistent: true})
	awaitSync(ctx, wes, "board")
	ann.use(ctx, "board", true)

	// A browser's stroke reaches the RTMP client's copy.
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOSend, Name: "board", Method: "addStroke", Args: []any{stroke("#f00", 1, 2, 3, 4)}})
	if m := wes.Await(ctx, "echo", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOSend }); m.Method != "addStroke" {
		t.Fatalf("echo: %s", show(m))
	}
	if m := ann.next(ctx); m.events[0].Method != "addStroke" {
		t.Fatalf("ann: %s, want the addStroke echo", m)
	}
	m := ann.next(ctx)
	s1, _ := m.slots()["s1"].(*amf.Object)
	if got := m.slots(); got["last"] != 1.0 || s1 == nil || s1.String("color") != "#f00" {
		t.Fatalf("ann: %s, want s1 and last", m)
	}
	sync := awaitSync(ctx, wes, "board")
	if got := syncSlots(sync); got["last"] != 1.0 || got["s1"].(*amf.Object).String("color") != "#f00" || !hasChange(sync, "change", "s1") {
		t.Fatalf("wes: %s", show(sync))
	}

	// And back: the RTMP client's stroke reaches the browser's.
	ann.send("board", true, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "addStroke", Args: []any{stroke("#0f0", 5, 6)}})
	if m := wes.Await(ctx, "so.send", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOSend }); len(m.Args) != 1 {
		t.Fatalf("wes: %s", show(m))
	}
	sync = awaitSync(ctx, wes, "board")
	if s2, _ := syncSlots(sync)["s2"].(*amf.Object); s2 == nil || s2.String("color") != "#0f0" || syncSlots(sync)["last"] != 2.0 {
		t.Fatalf("wes: %s, want s2", show(sync))
	}
	version := sync.Version

	// A browser overwriting "last" gets success, then the server's onSync restores it.
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSOSet, Name: "board", Key: "last", Value: 99.0})
	if m := awaitSync(ctx, wes, "board"); !hasChange(m, wsmsg.CodeSuccess, "last") || m.Version <= version {
		t.Fatalf("wes: %s, want success", show(m))
	}
	wes.Await(ctx, "last restored", func(m wsmsg.Message) bool {
		return m.Type == wsmsg.TypeSOSync && syncSlots(m)["last"] == 2.0
	})
	ann.await(ctx, func(e sharedobject.Event) bool {
		return e.Type == sharedobject.EventChange && e.Pairs[0].Key == "last" && e.Pairs[0].Value == 2.0
	})

	// A delete reaches everyone, the deleter too.
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSODelete, Name: "board", Key: "s1"})
	sync = awaitSync(ctx, wes, "board")
	if !hasChange(sync, wsmsg.CodeDelete, "s1") {
		t.Fatalf("wes: %s, want delete s1", show(sync))
	}
	ann.await(ctx, func(e sharedobject.Event) bool { return e.Type == sharedobject.EventRemove && e.Key == "s1" })

	// A browser holding the current version gets only what changed since: nothing.
	vic := connectWS(t, o, "whiteboard/room1", "vic")
	vic.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "board", Persistent: true, Version: sync.Version})
	if m := awaitSync(ctx, vic, "board"); len(m.Changes) != 0 || m.Version != sync.Version {
		t.Fatalf("vic at version %d: %s", sync.Version, show(m))
	}

	// A browser's departure is seen by the others: its presence slot goes.
	vic.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "users"})
	awaitSync(ctx, vic, "users")
	wes.Send(wsmsg.Message{Type: wsmsg.TypeSORelease, Name: "board"})
	_ = wes.C.CloseNow()
	if m := awaitSync(ctx, vic, "users"); len(m.Changes) != 1 || m.Changes[0].Code != wsmsg.CodeDelete {
		t.Fatalf("vic: %s, want wes's slot deleted", show(m))
	}
}

// TestWebSocketAuthModule: the auth modules decide on a browser as on an RTMP client: its
// connect (with the URL's query, protocol ws, its address), the access lists a module gives it,
// its shared objects.
func TestWebSocketAuthModule(t *testing.T) {
	t.Parallel()
	pm := &policyModule{}
	o := startWebOrigin(t, func(c *Config) { c.Plugins.Add(pm) }, "live")
	ctx := ctx5(t)

	p := dialWS(t, o.wsURL("live?deny=1"), nil)
	p.Send(wsmsg.Message{Type: wsmsg.TypeConnect})
	if m := p.Next(ctx); m.Type != wsmsg.TypeRejected || infoString(m.Info, "description") != "denied by policy" {
		t.Fatalf("denied connect: %s", show(m))
	}

	r := connectWS(t, o, "live?reader=1")
	r.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "private"})
	if m := r.Await(ctx, "so.status", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOStatus }); infoString(m.Info, "code") != sharedobject.CodeNoReadAccess {
		t.Fatalf("private: %s", show(m))
	}
	r.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "public/room"})
	awaitSync(ctx, r, "public/room")

	w := connectWS(t, o, "live")
	w.Send(wsmsg.Message{Type: wsmsg.TypeSOUse, Name: "locked"})
	if m := w.Await(ctx, "so.status", func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeSOStatus }); infoString(m.Info, "code") != sharedobject.CodeNoReadAccess {
		t.Fatalf("locked: %s", show(m))
	}
	_ = w.C.CloseNow()

	pm.mu.Lock()
	defer pm.mu.Unlock()
	var asked *plugin.Request
	for i := range pm.asked {
		if pm.asked[i].Action == plugin.ActConnect && pm.asked[i].ConnectQuery == "reader=1" {
			asked = &pm.asked[i]
		}
	}
	if asked == nil || asked.Protocol != "ws" || asked.IP != "127.0.0.1" || asked.App != "live" || !strings.HasPrefix(asked.TcURL, "ws://") {
		t.Fatalf("connect request: %+v", asked)
	}
}
