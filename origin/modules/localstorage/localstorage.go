// Package localstorage is the storage.local module: the storage extension point over one
// folder (the server's DATA/media by default), the origin's storage when no other is selected.
// Every access goes through an os.Root of the folder, so neither a name nor a symbolic link
// inside it reaches a file outside; a file being written has a temporary name (hidden from
// List) until Close syncs and renames it.
package localstorage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fmsgo/fmsgo/core/plugin"
)

func init() {
	plugin.Register(plugin.ModuleInfo{ID: "storage.local", New: func() plugin.Module { return new(Module) }})
}

// Module is the storage.local module. Its table: root, the folder (relative to the config
// file's folder; default DATA/media). The folder is made when the first file is written.
type Module struct {
	Root string `toml:"root"`
}

// New returns a storage.local over dir, ready to use (the origin's default storage).
func New(dir string) (*Module, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("storage.local: %w", err)
	}
	return &Module{Root: abs}, nil
}

// PluginInfo registers the module as storage.local.
func (m *Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "storage.local", New: func() plugin.Module { return new(Module) }}
}

// Provision resolves the folder.
func (m *Module) Provision(ctx plugin.Context) error {
	dir := m.Root
	switch {
	case dir == "" && ctx.DataDir == "":
		return errors.New("no root, and the server has no data folder")
	case dir == "":
		dir = filepath.Join(ctx.DataDir, "media")
	case !filepath.IsAbs(dir) && ctx.ConfigDir != "":
		dir = filepath.Join(ctx.ConfigDir, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	m.Root = abs
	return nil
}

// tmpPrefix starts the name of a file being written; no name given to the module may have a
// segment starting with it.
const tmpPrefix = ".~tmp-"

// checkName refuses (fs.ErrInvalid) a name that is not fs.ValidPath, has a backslash or a NUL,
// or has a segment that is a temporary file's; top allows "." (the folder itself).
func checkName(name string, top bool) error {
	ok := fs.ValidPath(name) && !strings.ContainsAny(name, "\\\x00") && (top || name != ".")
	for seg := range strings.SplitSeq(name, "/") {
		ok = ok && !strings.HasPrefix(seg, tmpPrefix)
	}
	if !ok {
		return &fs.PathError{Op: "storage.local", Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

// open checks name and opens the folder; the caller closes the root.
func (m *Module) open(ctx context.Context, name string, top bool) (*os.Root, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName(name, top); err != nil {
		return nil, err
	}
	return os.OpenRoot(m.Root)
}

// openForWrite is open for a file about to be written: the storage folder, and the folders of
// name inside it, are made first.
func (m *Module) openForWrite(ctx context.Context, name string) (*os.Root, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName(name, false); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.Root, 0o755); err != nil {
		return nil, fmt.Errorf("storage.local: %w", err)
	}
	root, err := os.OpenRoot(m.Root)
	if err != nil {
		return nil, err
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		root.Close()
		return nil, err
	}
	return root, nil
}

// Open opens a file for reading.
func (m *Module) Open(ctx context.Context, name string) (fs.File, error) {
	root, err := m.open(ctx, name, false)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(name)
}

// Create opens a file for writing under a temporary name; Close syncs it and renames it to
// name (making the folders on its way), or removes it after a failed Write.
func (m *Module) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	root, err := m.openForWrite(ctx, name)
	if err != nil {
		return nil, err
	}
	tmp := path.Join(path.Dir(name), tmpPrefix+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		root.Close()
		return nil, err
	}
	return &writer{root: root, f: f, tmp: tmp, name: name}, nil
}

// OpenFile opens name read-write for a recording, creating it and its folders; the file is
// under its own name from the start (see plugin.Storage).
func (m *Module) OpenFile(ctx context.Context, name string) (plugin.File, error) {
	root, err := m.openForWrite(ctx, name)
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file stays open without it
	f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "storage.local", Path: name, Err: fs.ErrInvalid}
	}
	return f, nil
}

// writer is a file being written (one goroutine at a time).
type writer struct {
	root      *os.Root
	f         *os.File
	tmp, name string
	err       error // the first failed Write
	closed    bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, os.ErrClosed
	}
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Close publishes the file: fsync, rename over name, fsync of the folder. On any failure the
// temporary file is removed and nothing replaces name.
func (w *writer) Close() error {
	if w.closed {
		return os.ErrClosed
	}
	w.closed = true
	defer w.root.Close()
	err := w.err
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.root.Rename(w.tmp, w.name)
	}
	if err != nil {
		_ = w.root.Remove(w.tmp)
		return err
	}
	return syncDir(w.root, path.Dir(w.name))
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove deletes a file (no error when absent).
func (m *Module) Remove(ctx context.Context, name string) error {
	root, err := m.open(ctx, name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the regular files directly under dir, sorted, without files being written.
func (m *Module) List(ctx context.Context, dir string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	root, err := m.open(ctx, dir, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	d, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), tmpPrefix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

var (
	_ plugin.Storage     = (*Module)(nil)
	_ plugin.Provisioner = (*Module)(nil)
)
