package scripting

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// memSOStore is an sostore module in memory.
type memSOStore struct {
	mu     sync.Mutex
	objs   map[string][]byte
	usages int
}

func (m *memSOStore) key(app, instance, name string) string {
	return app + "\x00" + instance + "\x00" + name
}

func (m *memSOStore) LoadSO(_ context.Context, app, instance, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[m.key(app, instance, name)]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

func (m *memSOStore) SaveSO(_ context.Context, app, instance, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[m.key(app, instance, name)] = append([]byte(nil), data...)
	return nil
}

func (m *memSOStore) DeleteSO(_ context.Context, app, instance, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, m.key(app, instance, name))
	return nil
}

func (m *memSOStore) SOUsage(context.Context, string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usages++
	return 0, nil
}

const soStoreApp = `
Client.prototype.set = function (v) { var p = SharedObject.get("p", true); p.setProperty("v", v); return p.flush(); };
Client.prototype.get = function () { return SharedObject.get("p", true).getProperty("v"); };
Client.prototype.stop = function () { application.shutdown(); return true; };
`

// TestSOStoreModule: with a sostore module, a persistent shared object outlives its instance
// in the module's store, the app's quota asks the module for its usage, and nothing is written
// under the data folder.
func TestSOStoreModule(t *testing.T) {
	t.Parallel()
	st := &memSOStore{objs: map[string][]byte{}}
	var data string
	h := newHarness(t, map[string]string{"s/main.js": soStoreApp}, func(cfg *EngineConfig) {
		cfg.SOStore = st
		data = cfg.DataDir
	})
	f, c := h.accepted("s")
	if got := h.result(f, c, "set", "kept"); got != true {
		t.Fatalf("flush: %v", got)
	}
	h.result(f, c, "stop")
	f.expect(t, "close")
	f2, c2 := h.accepted("s") // a new instance
	if got := h.result(f2, c2, "get"); got != "kept" {
		t.Fatalf("after the restart: %v", got)
	}
	st.mu.Lock()
	n, usages := len(st.objs), st.usages
	st.mu.Unlock()
	if n != 1 || usages != 1 {
		t.Fatalf("%d objects in the store, usage asked %d times", n, usages)
	}
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("written under the data folder: %s", p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
