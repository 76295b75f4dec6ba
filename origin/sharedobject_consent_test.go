package origin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// useStatus sends a Use and returns the code of the error Status answering it ("" for success).
func useStatus(t *testing.T, p *soPeer, name string, persistent bool) string {
	t.Helper()
	p.send(name, persistent, sharedobject.Event{Type: sharedobject.EventUse})
	m := p.next(ctx5(t))
	if len(m.events) > 0 && m.events[0].Type == sharedobject.EventUseSuccess {
		return ""
	}
	if len(m.events) == 1 && m.events[0].Type == sharedobject.EventStatus {
		return m.events[0].Code
	}
	t.Fatalf("%s: use %q answered with %s", p.name, name, m)
	return ""
}

// TestPersistentSharedObjectNeedsConsent: an app that says nothing refuses a client's persistent
// use with SharedObject.BadPersistence (AMF0 and AMF3) and writes nothing; the object the script
// opened with SharedObject.get(name, true) may be used; app.json persistentSharedObjects allows
// any name.
func TestPersistentSharedObjectNeedsConsent(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "quiet", "open")
	o.writeApp(t, "quiet", `application.onAppStart = function () { SharedObject.get("board", true); };`)
	o.writeApp(t, "open", "")
	o.writeAppJSON(t, "open", `{"persistentSharedObjects": true}`)
	for _, amf3 := range []bool{false, true} {
		p := dialSO(t, o, "quiet", "anon", amf3)
		if code := useStatus(t, p, "junk", true); code != sharedobject.CodeBadPersistence {
			t.Errorf("amf3=%v: persistent use without consent: %q, want %s", amf3, code, sharedobject.CodeBadPersistence)
		}
		if code := useStatus(t, p, "junk", false); code != "" {
			t.Errorf("amf3=%v: non-persistent use: %q", amf3, code)
		}
		if code := useStatus(t, p, "board", true); code != "" {
			t.Errorf("amf3=%v: use of the script's persistent object: %q", amf3, code)
		}
		q := dialSO(t, o, "open", "anon", amf3)
		if code := useStatus(t, q, "anything", true); code != "" {
			t.Errorf("amf3=%v: persistent use with app.json consent: %q", amf3, code)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(o.srv.cfg.Data, "quiet", "*", "junk.fso")); len(files) != 0 {
		t.Errorf("the app that did not consent has files on disk: %v", files)
	}
}

// quotaApp lets a client write a slot through the server (setProperty) and see its error.
const quotaApp = `
Client.prototype.fill = function (name, key, v) {
  try { SharedObject.get(name, true).setProperty(key, v); return "ok"; }
  catch (e) { return String(e); }
};
Client.prototype.save = function (name) { return SharedObject.get(name, true).flush(); };`

// TestSharedObjectDiskQuota: with app.json's sharedObjects.diskQuotaMB, a client change past the
// app's quota (all its instances) is refused with SharedObject.LimitExceeded and reverted for
// that client, a server setProperty past it throws a clear error, and after a restart the disk
// holds exactly what was acknowledged.
func TestSharedObjectDiskQuota(t *testing.T) {
	t.Parallel()
	apps, data := t.TempDir(), t.TempDir()
	o1, stop := startStoppable(t, apps, data)
	o1.writeApp(t, "so", quotaApp)
	o1.writeAppJSON(t, "so", `{"persistentSharedObjects": true, "sharedObjects": {"diskQuotaMB": 1}}`)
	ctx := ctx5(t)
	big := strings.Repeat("x", 600<<10)
	a := dialSO(t, o1, "so", "a", false)
	a.use(ctx, "p", true)
	a.send("p", true, change("k1", big))
	expectEvents(t, "first change", a.next(ctx), sharedobject.Event{Type: sharedobject.EventSuccess, Key: "k1"})
	a.send("p", true, change("k2", big))
	m := a.next(ctx)
	if len(m.events) != 2 || m.events[0].Code != sharedobject.CodeLimitExceeded || m.events[1].Type != sharedobject.EventRemove || m.events[1].Key != "k2" {
		t.Fatalf("change past the quota: %s, want LimitExceeded and k2 reverted", m)
	}
	// Another instance of the app shares the quota, for clients and for the script.
	b := dialSO(t, o1, "so/room2", "b", true)
	b.use(ctx, "p", true)
	b.send("p", true, change("k", big))
	if m := b.next(ctx); len(m.events) == 0 || m.events[0].Code != sharedobject.CodeLimitExceeded {
		t.Fatalf("another instance past the app's quota: %s", m)
	}
	v, err := b.c.Call(ctx, "fill", "p", "srv", big)
	if s, _ := v.(string); err != nil || !strings.Contains(s, "disk quota") {
		t.Fatalf("server setProperty past the quota: %v %v, want an error naming the disk quota", v, err)
	}
	if v, err := b.c.Call(ctx, "fill", "p", "small", "tiny"); err != nil || v != "ok" {
		t.Fatalf("a small server write within the quota: %v %v", v, err)
	}
	a.c.Close()
	b.c.Close()
	stop()

	o2, _ := startStoppable(t, apps, data)
	c := dialSO(t, o2, "so", "c", false)
	if got := c.use(ctx, "p", true).slots(); len(got) != 1 || got["k1"] != big {
		t.Fatalf("after restart %d slots (k1 %v), want only the acknowledged k1", len(got), got["k1"] == big)
	}
	d := dialSO(t, o2, "so/room2", "d", false)
	if got := d.use(ctx, "p", true).slots(); len(got) != 1 || got["small"] == nil {
		t.Fatalf("room2 after restart: %v keys, want only small", len(got))
	}
	// The restarted origin counts the files on disk: the quota is still near full.
	c.send("p", true, change("k2", big))
	if m := c.next(ctx); len(m.events) == 0 || m.events[0].Code != sharedobject.CodeLimitExceeded {
		t.Fatalf("after restart, change past the quota: %s", m)
	}
}

// TestPersistentSharedObjectUnsavableName: an instance whose name cannot be a folder (its
// encoded segment passes the file-name limit) refuses persistent uses with SharedObject.BadName
// instead of answering success and keeping the object in memory; non-persistent ones work.
func TestPersistentSharedObjectUnsavableName(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	o.writeApp(t, "so", "")
	o.writeAppJSON(t, "so", `{"persistentSharedObjects": true}`)
	inst := strings.Repeat("i", 100) + "/" + strings.Repeat("j", 100) // "/" encodes as %2F: 203 bytes
	p := dialSO(t, o, "so/"+inst, "long", false)
	if code := useStatus(t, p, "p", true); code != sharedobject.CodeBadName {
		t.Fatalf("persistent use in an unsavable instance: %q, want %s", code, sharedobject.CodeBadName)
	}
	if code := useStatus(t, p, "m", false); code != "" {
		t.Fatalf("non-persistent use there: %q", code)
	}
	if code := useStatus(t, dialSO(t, o, "so", "seg", true), strings.Repeat("n", 250), true); code != sharedobject.CodeBadName {
		t.Fatalf("a 250-byte object name: %q", code)
	}
}
