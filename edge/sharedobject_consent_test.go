package edge

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// TestPersistentSharedObjectConsentThroughEdge: an edge client's persistent use is refused with
// SharedObject.BadPersistence (AMF0 and AMF3) unless the app consented: the object the script
// opened with SharedObject.get(name, true), or any name with app.json persistentSharedObjects.
func TestPersistentSharedObjectConsentThroughEdge(t *testing.T) {
	t.Parallel()
	apps := writeApps(t, map[string]string{
		"quiet": `application.onAppStart = function () { SharedObject.get("board", true); };`,
		"open":  "",
	})
	if err := os.WriteFile(filepath.Join(apps, "open", "app.json"), []byte(`{"persistentSharedObjects": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := startOriginDirs(t, "127.0.0.1:0", apps, t.TempDir())
	e := startEdge(t, "", o)
	ctx := ctx5(t)
	status := func(p *soClient, name string) string {
		p.send(name, true, sharedobject.Event{Type: sharedobject.EventUse})
		m := p.next(ctx)
		if len(m.events) > 0 && m.events[0].Type == sharedobject.EventUseSuccess {
			return ""
		}
		return m.events[0].Code
	}
	for _, amf3 := range []bool{false, true} {
		p := dialSO(t, e.url("quiet"), "anon", amf3)
		if code := status(p, "junk"); code != sharedobject.CodeBadPersistence {
			t.Errorf("amf3=%v: persistent use without consent through the edge: %q", amf3, code)
		}
		if code := status(p, "board"); code != "" {
			t.Errorf("amf3=%v: the script's persistent object through the edge: %q", amf3, code)
		}
		q := dialSO(t, e.url("open"), "anon", amf3)
		if code := status(q, "anything"); code != "" {
			t.Errorf("amf3=%v: persistent use with app.json consent through the edge: %q", amf3, code)
		}
	}
}
