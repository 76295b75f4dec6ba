// Package clienttest holds the client-side checks that the origin's and the edge's tests run
// alike, so that a rule of FMS checked directly and through an edge is checked by one piece of
// code: publish and play verdicts, access lists, publish takeover. Tests only.
package clienttest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// ctx5 is a 5 s context ended with the test.
func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// StreamAccessApp sets the client's access lists from its connect arguments (read, write).
const StreamAccessApp = `
application.onConnect = function (c, read, write) {
  if (read !== undefined) c.readAccess = read;
  if (write !== undefined) c.writeAccess = write;
  return true;
};`

// PublishCode publishes name on a new stream and returns the verdict's status code.
func PublishCode(t *testing.T, c *rtmpclient.Client, name string) (code, desc string) {
	t.Helper()
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Publish(ctx5(t), sid, name, "live")
	var se *rtmpclient.StatusError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("publish %s: %v", name, err)
	}
	return info.String("code"), info.String("description")
}

// PlayCode plays name on a new stream and returns the first Play.Start or error status.
func PlayCode(t *testing.T, c *rtmpclient.Client, name string) (code, desc string) {
	t.Helper()
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(sid, name, -1); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("play %s: %v", name, err)
		}
		if ev.Kind != rtmpclient.EventStatus || ev.StreamID != sid || ev.Info == nil {
			continue
		}
		if c := ev.Info.String("code"); c == "NetStream.Play.Start" || ev.Info.String("level") == "error" {
			return c, ev.Info.String("description")
		}
	}
}

// CheckStreamAccess runs the access cases against url (direct or through an edge): dialAs
// connects a client with the given readAccess and writeAccess.
func CheckStreamAccess(t *testing.T, dialAs func(read, write string) *rtmpclient.Client) {
	none := dialAs("/", "")
	if code, desc := PublishCode(t, none, "cam"); code != "NetStream.Publish.BadName" || !strings.Contains(desc, "writeAccess") {
		t.Errorf("publish with writeAccess \"\": %s %q, want NetStream.Publish.BadName naming writeAccess", code, desc)
	}
	pub := dialAs("/", "/")
	if code, _ := PublishCode(t, pub, "cam"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish with writeAccess \"/\": %s", code)
	}
	if code, _ := PublishCode(t, pub, "public/x"); code != "NetStream.Publish.Start" {
		t.Fatalf("publish public/x: %s", code)
	}
	blind := dialAs("", "/")
	if code, desc := PlayCode(t, blind, "cam"); code != "NetStream.Play.Failed" || !strings.Contains(desc, "readAccess") {
		t.Errorf("play with readAccess \"\": %s %q, want NetStream.Play.Failed naming readAccess", code, desc)
	}
	public := dialAs("/public", "/public;/chat")
	if code, _ := PublishCode(t, public, "public/y"); code != "NetStream.Publish.Start" {
		t.Errorf("publish public/y with writeAccess /public;/chat: %s", code)
	}
	if code, _ := PublishCode(t, public, "private/y"); code != "NetStream.Publish.BadName" {
		t.Errorf("publish private/y with writeAccess /public;/chat: %s", code)
	}
	if code, _ := PublishCode(t, public, "publicity"); code != "NetStream.Publish.BadName" {
		t.Errorf("publish publicity (a prefix of a segment only): %s", code)
	}
	if code, _ := PlayCode(t, public, "public/x"); code != "NetStream.Play.Start" {
		t.Errorf("play public/x with readAccess /public: %s", code)
	}
	if code, _ := PlayCode(t, public, "private/x"); code != "NetStream.Play.Failed" {
		t.Errorf("play private/x with readAccess /public: %s", code)
	}
}

// TakeoverApp lets a publisher with ?key=boss take a silent stream over (the documented hook)
// and records what onPublish saw in stream.takeover.
const TakeoverApp = `
var seen = [];
application.onPublish = function (client, stream) {
  seen.push(stream.takeover === true);
  if (stream.takeover && stream.publishQueryString === "key=boss") stream.acceptTakeover = true;
  return true;
};
Client.prototype.seen = function () { var s = seen.join(","); seen = []; return s; };`

// CheckTakeover runs the takeover rule through dialFrom (a client from a local address): a
// publisher of another address or another key gets NetStream.Publish.BadName even after the
// holder's silence (onPublish was told stream.takeover), the same identity takes over, and so
// does one the app accepts through stream.acceptTakeover.
func CheckTakeover(t *testing.T, dialFrom func(local, path string) *rtmpclient.Client) {
	first := dialFrom("127.0.0.1", "tk?token=t1")
	if code, _ := PublishCode(t, first, "cam?key=k1"); code != "NetStream.Publish.Start" {
		t.Fatalf("first publish: %s", code)
	}
	watcher := dialFrom("127.0.0.1", "tk")
	// Another address with the same URL, then the same address with another publish key or
	// another connect query: refused, also once the holder is silent (seen: takeover true).
	for _, c := range []struct{ local, path, stream string }{
		{"127.0.0.2", "tk?token=t1", "cam?key=k1"},
		{"127.0.0.1", "tk?token=t1", "cam?key=k2"},
		{"127.0.0.1", "tk?token=t2", "cam?key=k1"},
	} {
		other := dialFrom(c.local, c.path)
		for try := 0; ; try++ {
			code, desc := PublishCode(t, other, c.stream)
			if code != "NetStream.Publish.BadName" {
				t.Fatalf("%+v took the stream over: %s %q", c, code, desc)
			}
			if seen, _ := watcher.Call(ctx5(t), "seen"); seen == "true" {
				break // refused although the holder was silent
			}
			if try == 100 {
				t.Fatalf("%+v: the holder never went silent", c)
			}
			time.Sleep(20 * time.Millisecond) // an encoder's retry pause
		}
		other.Close()
	}
	again := dialFrom("127.0.0.1", "tk?token=t1")
	if code, desc := PublishCode(t, again, "cam?key=k1"); code != "NetStream.Publish.Start" {
		t.Fatalf("the same identity after the silence: %s %q, want a takeover", code, desc)
	}
	select {
	case <-first.Done():
	case <-ctx5(t).Done():
		t.Fatal("the replaced publisher was not disconnected")
	}
	boss := dialFrom("127.0.0.2", "tk")
	for try := 0; ; try++ {
		code, _ := PublishCode(t, boss, "cam?key=boss")
		if code == "NetStream.Publish.Start" {
			break
		}
		if try == 100 {
			t.Fatalf("the takeover the app accepts never happened: %s", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-again.Done():
	case <-ctx5(t).Done():
		t.Fatal("the publisher replaced through the app's hook was not disconnected")
	}
}
