package sharedobject

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileStore is the file Store as the sostore extension point sees it (the sostore.file
// module): the persistent objects of every instance under one data folder, in NewStore's
// layout and file format, written the same crash-safe way (temporary file, fsync, rename, fsync
// of the folder). The default store and sostore.file read each other's files. Safe for
// concurrent use; writes of one object must not run concurrently (NewExternalStore orders them).
type FileStore struct {
	dir string

	mu    sync.Mutex      // guards swept
	swept map[string]bool // folders cleared of temporary files left by a crash
}

// NewFileStore returns the store of the objects under dataDir.
func NewFileStore(dataDir string) *FileStore {
	return &FileStore{dir: dataDir, swept: map[string]bool{}}
}

// path is the file of app/instance's object name; a name that cannot be a file wraps both
// ErrBadName and fs.ErrInvalid.
func (f *FileStore) path(app, instance, name string) (string, error) {
	dir, err := instanceDir(f.dir, app, instance)
	if err == nil {
		var p string
		if p, err = objectPath(dir, name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (%w)", err, fs.ErrInvalid)
}

// LoadSO returns the object's file (an error wrapping fs.ErrNotExist when there is none).
func (f *FileStore) LoadSO(ctx context.Context, app, instance, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := f.path(app, instance, name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// SaveSO replaces the object's file atomically.
func (f *FileStore) SaveSO(ctx context.Context, app, instance, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := f.path(app, instance, name)
	if err != nil {
		return err
	}
	f.sweep(filepath.Dir(p))
	return writeAtomic(p, data)
}

// DeleteSO removes the object's file (no error when absent).
func (f *FileStore) DeleteSO(ctx context.Context, app, instance, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := f.path(app, instance, name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(p))
}

// SOUsage is the size of app's object files (its disk quota starts from it).
func (f *FileStore) SOUsage(ctx context.Context, app string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dir, err := AppDir(f.dir, app)
	if err != nil {
		return 0, err
	}
	return DiskUsage(dir)
}

// sweep removes, once per folder, the temporary files that a crash left there. The folder's
// instance writes through one Store, which orders its writes, so no write of it is in progress
// at its first save.
func (f *FileStore) sweep(dir string) {
	f.mu.Lock()
	done := f.swept[dir]
	f.swept[dir] = true
	f.mu.Unlock()
	if done {
		return
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "%tmp-*"))
	for _, t := range tmps {
		os.Remove(t)
	}
}
