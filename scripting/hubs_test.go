package scripting

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/live"
)

type nopPublisher struct{}

func (nopPublisher) Kick(error) {}

// TestHubLivesWithInstance (issue 10 item 3): an instance's live hub, its JS loop and its shared
// objects have one owner and one lifetime. A client's Hub is the instance's; a hub lent to a
// non-client (an edge's pull) keeps the instance from its idle unload until it is given back;
// the unload closes the hub; an instance that is not running lends nothing (and is not started).
func TestHubLivesWithInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"live/main.js": `application.onAppStop = function () { trace("stopped"); };
application.onDisconnect = function () { setTimeout(function () { trace("after the disconnect job"); }, 0); };`,
		"live/app.json": `{"idleUnloadSeconds": 0}`,
	})
	if _, _, err := h.e.Hub("live/_definst_"); !errors.Is(err, ErrNoInstance) {
		t.Fatalf("hub of an instance not running: %v", err)
	}
	if h.e.Instances("live") != 0 {
		t.Fatal("lending a hub started an instance")
	}
	_, c := h.accepted("live")
	hub := c.Hub()
	if hub == nil || h.e.Hubs()["live/_definst_"] != hub {
		t.Fatalf("client hub %p, engine's %v", hub, h.e.Hubs())
	}
	lent, release, err := h.e.Hub("live/_definst_")
	if err != nil || lent != hub {
		t.Fatalf("lent %p %v, want the client's %p", lent, err, hub)
	}
	if _, err := hub.Publish("s", nopPublisher{}); err != nil {
		t.Fatal(err)
	}
	c.Disconnect()                         // the last client: only the lent hub holds the instance now
	h.awaitLog("after the disconnect job") // the idle check ran in the disconnect's job
	if h.e.Instances("live") != 1 || strings.Contains(h.log.String(), "stopped") {
		t.Fatal("the instance was unloaded while its hub was lent")
	}
	release()
	release() // harmless
	h.awaitLog("stopped")
	waitUntil(t, "the unload", func() bool { return h.e.Instances("live") == 0 && len(h.e.Hubs()) == 0 })
	if _, err := hub.Publish("t", nopPublisher{}); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("publish into the unloaded instance's hub: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // no event for these engine-side counts
	}
}
