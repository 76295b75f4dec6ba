// Package appfs is the file system an application's scripts see through FMS's File object: "/"
// is the app folder, virtual directories map further path prefixes onto other folders the
// operator chose, and nothing else of the host is reachable. Every access goes through an
// os.Root of its folder, so neither a name nor a symbolic link inside a folder reaches outside
// it; names with backslashes, NUL, "." or ".." segments are refused before any system call (the
// FMS rules). Bytes written count against the app's Quota.
package appfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrQuota is the error of a write that would take the app past its disk quota.
var ErrQuota = errors.New("appfs: the application's file quota is used up")

// ErrCrossMount is the error of a rename between two folders (two mounts).
var ErrCrossMount = errors.New("appfs: rename across virtual directories")

// ErrTooMany is the error of listing a folder of more entries than the caller's limit.
var ErrTooMany = errors.New("appfs: too many entries in the folder")

// ErrRoot is the error of removing or renaming a mount's top folder (FMS: root objects cannot
// be renamed or deleted).
var ErrRoot = errors.New("appfs: a root folder cannot be removed or renamed")

// VirtualDir maps the virtual path prefix Prefix ("/videos") onto the host folder Dir (FMS's
// Application.xml FileObject/VirtualDirectory).
type VirtualDir struct {
	Prefix string
	Dir    string
}

// FS is what a File object works on: slash paths from "/", the app folder. Sandbox is the
// implementation on local folders; the origin may provide another (EngineConfig.Files).
type FS interface {
	Stat(name string) (fs.FileInfo, error)
	// Times returns when the file was created (its birth time where the system records one,
	// else its last change) and last modified.
	Times(name string) (created, modified time.Time, err error)
	OpenFile(name string, flag int) (Handle, error)
	// ReadDir lists a folder sorted by name; a folder of more than limit entries is
	// ErrTooMany (limit <= 0: no limit).
	ReadDir(name string, limit int) ([]fs.DirEntry, error)
	Mkdir(name string) error
	// Remove deletes a file or an empty folder; recursive removes a folder with its content.
	Remove(name string, recursive bool) error
	Rename(from, to string) error
	Close() error
}

// Clean checks a script's path and returns it in its canonical form ("/a/b"); ok is false for a
// path FMS refuses: a backslash, a NUL, or a "." or ".." segment. A path without a leading slash
// is relative to the app folder too; empty segments are ignored.
func Clean(p string) (string, bool) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	var segs []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
		case ".", "..":
			return "", false
		default:
			segs = append(segs, seg)
		}
	}
	return "/" + strings.Join(segs, "/"), true
}

// mount is one folder of the sandbox, opened on first use.
type mount struct {
	prefix string // canonical ("/" for the app folder)
	dir    string
	once   sync.Once
	root   *os.Root
	err    error
}

func (m *mount) open() (*os.Root, error) {
	m.once.Do(func() {
		if err := os.MkdirAll(m.dir, 0o755); err != nil && m.prefix != "/" {
			m.err = err
			return
		}
		m.root, m.err = os.OpenRoot(m.dir)
	})
	return m.root, m.err
}

// Sandbox is FS over local folders: the app folder and the virtual directories. Its methods
// are safe from any goroutine (os.Root is).
type Sandbox struct {
	mounts []*mount // longest prefix first
	quota  *Quota
}

// New returns the sandbox of the app folder appDir with the virtual directories vdirs; quota
// (nil: unlimited) counts what is written in all of them. Folders are opened on first use.
func New(appDir string, vdirs []VirtualDir, quota *Quota) (*Sandbox, error) {
	s := &Sandbox{mounts: []*mount{{prefix: "/", dir: appDir}}, quota: quota}
	for _, v := range vdirs {
		p, ok := Clean(v.Prefix)
		if !ok || p == "/" || v.Dir == "" {
			return nil, fmt.Errorf("appfs: virtual directory %q: invalid prefix or folder", v.Prefix)
		}
		s.mounts = append(s.mounts, &mount{prefix: p, dir: v.Dir})
	}
	sort.SliceStable(s.mounts, func(i, j int) bool { return len(s.mounts[i].prefix) > len(s.mounts[j].prefix) })
	return s, nil
}

// resolve finds the mount of a canonical path and the name inside it ("." for its top).
func (s *Sandbox) resolve(name string) (*os.Root, string, *mount, error) {
	p, ok := Clean(name)
	if !ok {
		return nil, "", nil, &fs.PathError{Op: "appfs", Path: name, Err: fs.ErrInvalid}
	}
	for _, m := range s.mounts {
		rest, found := strings.CutPrefix(p, m.prefix)
		if !found || (m.prefix != "/" && rest != "" && rest[0] != '/') {
			continue
		}
		rest = strings.TrimPrefix(rest, "/")
		if rest == "" {
			rest = "."
		}
		r, err := m.open()
		if err != nil {
			return nil, "", nil, fmt.Errorf("appfs: folder of %s: %w", m.prefix, err)
		}
		return r, rest, m, nil
	}
	return nil, "", nil, &fs.PathError{Op: "appfs", Path: name, Err: fs.ErrNotExist}
}

// Stat describes a file or folder (following links inside the folder).
func (s *Sandbox) Stat(name string) (fs.FileInfo, error) {
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	return r.Stat(rel)
}

// ReadDir lists a folder, sorted by name, reading at most limit+1 entries.
func (s *Sandbox) ReadDir(name string, limit int) ([]fs.DirEntry, error) {
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := r.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := -1
	if limit > 0 {
		n = limit + 1
	}
	ents, err := f.ReadDir(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if limit > 0 && len(ents) > limit {
		return nil, fmt.Errorf("%w: %s has more than %d", ErrTooMany, name, limit)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

// Mkdir makes one folder (its parent must exist).
func (s *Sandbox) Mkdir(name string) error {
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return err
	}
	return r.Mkdir(rel, 0o755)
}

// Remove deletes a file or folder; the bytes it held return to the quota.
func (s *Sandbox) Remove(name string, recursive bool) error {
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return err
	}
	if rel == "." {
		return ErrRoot
	}
	if _, err := r.Lstat(rel); err != nil {
		return err
	}
	freed := usage(r.FS(), rel, recursive)
	if recursive {
		err = r.RemoveAll(rel)
	} else {
		err = r.Remove(rel)
	}
	if err == nil {
		s.quota.release(freed)
	}
	return err
}

// Rename moves a file or folder within one mount; a file it replaces returns to the quota.
func (s *Sandbox) Rename(from, to string) error {
	r1, rel1, m1, err := s.resolve(from)
	if err != nil {
		return err
	}
	r2, rel2, m2, err := s.resolve(to)
	if err != nil {
		return err
	}
	if m1 != m2 {
		return ErrCrossMount
	}
	if rel1 == "." || rel2 == "." {
		return ErrRoot
	}
	replaced := int64(0)
	if st, err := r2.Stat(rel2); err == nil && st.Mode().IsRegular() {
		replaced = st.Size()
	}
	if err := r1.Rename(rel1, rel2); err != nil {
		return err
	}
	s.quota.release(replaced)
	return nil
}

// Close releases the folders' handles; open Handles stay usable until closed.
func (s *Sandbox) Close() error {
	var errs []error
	for _, m := range s.mounts {
		m.once.Do(func() { m.err = fs.ErrClosed })
		if m.root != nil {
			errs = append(errs, m.root.Close())
		}
	}
	return errors.Join(errs...)
}

// maxUsageEntries bounds the walk that counts a folder's bytes (a recursive remove, the quota's
// start): past it, what was seen so far is the answer.
const maxUsageEntries = 100_000

// usage is the bytes of the regular files at rel (a file, or a folder walked when recursive).
func usage(fsys fs.FS, rel string, recursive bool) int64 {
	st, err := fs.Stat(fsys, rel)
	if err != nil {
		return 0
	}
	if !st.IsDir() {
		if st.Mode().IsRegular() {
			return st.Size()
		}
		return 0
	}
	if !recursive {
		return 0
	}
	var total int64
	seen := 0
	_ = fs.WalkDir(fsys, rel, func(p string, d fs.DirEntry, err error) error {
		if seen++; err != nil || seen > maxUsageEntries {
			return fs.SkipAll
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// Usage is the bytes of the regular files under dir (at most maxUsageEntries entries walked):
// the quota's start for an app folder that already holds files.
func Usage(dir string) int64 {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return 0
	}
	defer r.Close()
	return usage(r.FS(), ".", true)
}

// Base is the last segment of a canonical path ("" for "/").
func Base(p string) string {
	if p == "/" {
		return ""
	}
	return path.Base(p)
}
