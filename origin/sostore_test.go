package origin

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// memSOModule is an sostore module that keeps the objects in memory.
type memSOModule struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memSOModule) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.memso", New: func() plugin.Module { return &memSOModule{} }}
}

func (m *memSOModule) LoadSO(_ context.Context, app, instance, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[app+"/"+instance+"/"+name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

func (m *memSOModule) SaveSO(_ context.Context, app, instance, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[app+"/"+instance+"/"+name] = append([]byte(nil), data...)
	return nil
}

func (m *memSOModule) DeleteSO(_ context.Context, app, instance, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, app+"/"+instance+"/"+name)
	return nil
}

func (m *memSOModule) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objs {
		out = append(out, k)
	}
	return out
}

// TestSOStoreModuleKeepsObjects: with an sostore module in the origin's config, a persistent
// shared object that one client set is what a client of the restarted instance gets, it lives in
// the module, and nothing is written under the data folder.
func TestSOStoreModuleKeepsObjects(t *testing.T) {
	t.Parallel()
	mod := &memSOModule{objs: map[string][]byte{}}
	var data string
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(mod); data = c.Data }, "so")
	o.writeApp(t, "so", soPersistApp+`Client.prototype.stop = function () { application.shutdown(); return true; };`)
	o.writeAppJSON(t, "so", persistConsent)
	ctx := ctx5(t)
	a := dialSO(t, o, "so", "a", false)
	a.use(ctx, "scores", true)
	a.send("scores", true, change("alice", 10.0, "bob", "x"))
	a.next(ctx)
	if v, err := a.c.Call(ctx, "save", "scores"); err != nil || v != true {
		t.Fatalf("save: %v %v", v, err)
	}
	if _, err := a.c.Call(ctx, "stop"); err != nil {
		t.Fatal(err)
	}
	awaitAppShutdown(t, a.c, func() {})
	if n := o.srv.engine.Instances("so"); n != 0 {
		t.Fatalf("%d instances after the shutdown", n)
	}

	b := dialSO(t, o, "so", "b", true) // a new instance
	m := b.use(ctx, "scores", true)
	if got := m.slots(); m.version != 1 || len(got) != 2 || got["alice"] != 10.0 || got["bob"] != "x" {
		t.Fatalf("after the restart: %s", m)
	}
	if keys := mod.keys(); len(keys) != 1 || keys[0] != "so/_definst_/scores" {
		t.Fatalf("module holds %v", keys)
	}
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			t.Errorf("written under the data folder: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
