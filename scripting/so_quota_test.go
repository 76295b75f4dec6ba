package scripting

import "testing"

// TestPersistenceKeysParse: app.json's persistentSharedObjects (default false) and
// sharedObjects.diskQuotaMB parse; a negative quota is refused.
func TestPersistenceKeysParse(t *testing.T) {
	cfg, err := ParseAppConfig("app.json", []byte(`{"persistentSharedObjects": true, "sharedObjects": {"diskQuotaMB": 5}}`))
	if err != nil || !cfg.PersistentSharedObjects || cfg.SharedObjects.DiskQuotaMB != 5 {
		t.Fatalf("%+v %v", cfg, err)
	}
	if DefaultAppConfig().PersistentSharedObjects {
		t.Fatal("client persistence is on by default")
	}
	if _, err := ParseAppConfig("app.json", []byte(`{"sharedObjects": {"diskQuotaMB": -1}}`)); err == nil {
		t.Fatal("a negative diskQuotaMB was accepted")
	}
}

// TestQuotaBytes: app.json's diskQuotaMB wins, else the engine's default, else 64 MiB; a
// negative engine default means no limit.
func TestQuotaBytes(t *testing.T) {
	for _, c := range []struct {
		engine, app, want int64
	}{
		{0, 0, DefaultSharedObjectDiskQuotaMB << 20},
		{10, 0, 10 << 20},
		{10, 3, 3 << 20},
		{-1, 0, 0},
		{-1, 2, 2 << 20},
	} {
		e := &Engine{cfg: EngineConfig{SharedObjectDiskQuotaMB: c.engine}}
		if got := e.quotaBytes(c.app); got != c.want {
			t.Errorf("engine %d, app %d: %d bytes, want %d", c.engine, c.app, got, c.want)
		}
	}
}
