package origin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// copyRepoApp copies apps/NAME from the repository into the test origin.
func copyRepoApp(t *testing.T, o *testOrigin, name string) {
	t.Helper()
	src, dst := filepath.Join("..", "apps", name), filepath.Join(o.apps, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestWhiteboardApp drives apps/whiteboard with an AMF0 and an AMF3 client: presence through a
// server-written object, strokes added by the server's handler, the server overruling a client
// that tampers with its slot, and a departure.
func TestWhiteboardApp(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "other")
	copyRepoApp(t, o, "whiteboard")
	ctx := ctx5(t)
	ann := &soPeer{t: t, name: "ann", c: dial(t, o.url("whiteboard/room1"), rtmpclient.Options{ConnectArgs: []any{"ann"}})}
	bob := &soPeer{t: t, name: "bob", amf3: true, c: dial(t, o.url("whiteboard/room1"), rtmpclient.Options{ObjectEncoding: 3, ConnectArgs: []any{"bob"}})}
	if n, err := ann.c.Call(ctx, "strokeCount"); err != nil || n != 0.0 {
		t.Fatalf("strokeCount = %v, %v", n, err)
	}

	names := map[any]bool{}
	for _, v := range ann.use(ctx, "users", false).slots() {
		names[v] = true
	}
	if !names["ann"] || !names["bob"] || len(names) != 2 {
		t.Fatalf("users: %v", names)
	}
	ann.send("users", false, change("x", "intruder"))
	if m := ann.next(ctx); len(m.events) == 0 || m.events[0].Code != sharedobject.CodeNoWriteAccess {
		t.Fatalf("writing users: %s", m)
	}

	ann.use(ctx, "board", true)
	bob.use(ctx, "board", true)
	stroke := &amf.Object{Props: []amf.Prop{{Key: "color", Value: "#f00"}, {Key: "points", Value: &amf.Array{Dense: []any{1.0, 2.0, 3.0, 4.0}}}}}
	bob.send("board", true, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "addStroke", Args: []any{stroke}})
	for _, p := range []*soPeer{ann, bob} {
		if m := p.next(ctx); m.events[0].Method != "addStroke" {
			t.Fatalf("%s: %s, want the addStroke echo", p.name, m)
		}
		m := p.next(ctx)
		got := m.slots()
		s1, _ := got["s1"].(*amf.Object)
		if len(m.events) != 2 || got["last"] != 1.0 || s1 == nil || s1.String("color") != "#f00" {
			t.Fatalf("%s: %s, want s1 and last in one update", p.name, m)
		}
	}

	// A client overwriting "last" is overruled by the server's onSync.
	ann.send("board", true, change("last", 99.0))
	expectEvents(t, "ann", ann.next(ctx), sharedobject.Event{Type: sharedobject.EventSuccess, Key: "last"})
	bob.next(ctx) // last = 99
	restored := sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "last", Value: 1.0}}}
	for _, p := range []*soPeer{ann, bob} {
		p.await(ctx, func(e sharedobject.Event) bool { return e.Type == restored.Type && e.Pairs[0] == restored.Pairs[0] })
	}
	if n, err := ann.c.Call(ctx, "strokeCount"); err != nil || n != 1.0 {
		t.Fatalf("strokeCount = %v, %v", n, err)
	}

	// Bob leaves: his presence slot goes.
	bob.c.Close()
	ann.await(ctx, func(e sharedobject.Event) bool { return e.Type == sharedobject.EventRemove })
}
