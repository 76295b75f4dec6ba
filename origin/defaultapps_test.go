package origin

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// installApp copies a default app from the repository's apps/ folder into the test origin.
func (o *testOrigin) installApp(t *testing.T, name string, override map[string]string) {
	t.Helper()
	src := filepath.Join("..", "apps", name)
	dst := filepath.Join(o.apps, name)
	os.MkdirAll(dst, 0o755)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := override[e.Name()]; ok {
			b = []byte(v)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLiveAppPublishKeys(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "other")
	o.installApp(t, "live", map[string]string{"app.json": `{"config": {"publishKeys": ["k1"]}}`})
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	_, err := c.Publish(ctx5(t), sid, "keyed", "live")
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetStream.Publish.BadName" {
		t.Fatalf("publish without a key: %v", err)
	}
	if _, err := c.Publish(ctx5(t), sid, "keyed?key=wrong", "live"); !errors.As(err, &se) {
		t.Fatalf("publish with a wrong key: %v", err)
	}
	if _, err := c.Publish(ctx5(t), sid, "keyed?key=k1", "live"); err != nil {
		t.Fatalf("publish with the key: %v", err)
	}
	if !o.srv.hasPublisher("live", DefaultInstance, "keyed") {
		t.Fatal("not published under the bare name")
	}
}

func TestChatApp(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "other")
	o.installApp(t, "chat", nil)
	alice := dial(t, o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"alice"}})
	bob := dial(t, o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"bob"}, ObjectEncoding: 3})
	_, err := rtmpclient.Dial(ctx5(t), o.url("chat/lobby"), rtmpclient.Options{ConnectArgs: []any{"bob"}})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("a taken nickname must be rejected: %v", err)
	}
	if app, _ := se.Info.Get("application"); app == nil {
		t.Fatalf("rejection without the app's reason: %#v", se.Info)
	}
	who, err := bob.Call(ctx5(t), "who")
	if a, _ := who.(*amf.Array); err != nil || a == nil || len(a.Dense) != 2 || a.Dense[0] != "alice" || a.Dense[1] != "bob" {
		t.Fatalf("who: %#v %v", who, err)
	}
	if _, err := alice.Call(ctx5(t), "say", "hi all"); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := bob.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventCommand && ev.Name == "onMessage" {
			if ev.Args[0] != "alice" || ev.Args[1] != "hi all" {
				t.Fatalf("onMessage %#v", ev.Args)
			}
			break
		}
	}
	alice.Close()
	for {
		ev, err := bob.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventCommand && ev.Name == "onLeave" && ev.Args[0] == "alice" {
			break
		}
	}
}
