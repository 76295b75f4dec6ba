// Package sofile is the sostore.file module: persistent shared objects in crash-safe files
// (temporary file, fsync, rename, fsync of the folder) under a folder, the server's data folder
// by default. It writes the same files, in the same format, as the origin does when no sostore
// module is selected, so selecting it, or dropping it, keeps every object.
package sofile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

func init() {
	plugin.Register(plugin.ModuleInfo{ID: "sostore.file", New: func() plugin.Module { return new(Module) }})
}

// Module is the sostore.file module. Its table: dir, the folder of the objects (relative to
// the config file's folder; default: the server's -data folder).
type Module struct {
	Dir string `toml:"dir"`

	store *sharedobject.FileStore
}

// PluginInfo registers the module as sostore.file.
func (m *Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "sostore.file", New: func() plugin.Module { return new(Module) }}
}

// Provision resolves the folder and makes it, so that an unusable one stops the start.
func (m *Module) Provision(ctx plugin.Context) error {
	dir := m.Dir
	if dir == "" {
		dir = ctx.DataDir
	} else if !filepath.IsAbs(dir) && ctx.ConfigDir != "" {
		dir = filepath.Join(ctx.ConfigDir, dir)
	}
	if dir == "" {
		return errors.New("no dir, and the server has no data folder")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	m.Dir, m.store = abs, sharedobject.NewFileStore(abs)
	return nil
}

// LoadSO reads an object's file.
func (m *Module) LoadSO(ctx context.Context, app, instance, name string) ([]byte, error) {
	return m.store.LoadSO(ctx, app, instance, name)
}

// SaveSO replaces an object's file atomically.
func (m *Module) SaveSO(ctx context.Context, app, instance, name string, data []byte) error {
	return m.store.SaveSO(ctx, app, instance, name, data)
}

// DeleteSO removes an object's file.
func (m *Module) DeleteSO(ctx context.Context, app, instance, name string) error {
	return m.store.DeleteSO(ctx, app, instance, name)
}

// SOUsage is the size of an app's object files (its disk quota starts from it).
func (m *Module) SOUsage(ctx context.Context, app string) (int64, error) {
	return m.store.SOUsage(ctx, app)
}

var (
	_ plugin.SOStore     = (*Module)(nil)
	_ plugin.SOUsage     = (*Module)(nil)
	_ plugin.Provisioner = (*Module)(nil)
)
