package appfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Handle is an open file of the sandbox, read and written at explicit offsets (the File object
// keeps its own position, and its "append" mode writes at Size). One goroutine uses it at a
// time.
type Handle interface {
	io.ReaderAt
	io.WriterAt
	// Size is the file's current length.
	Size() int64
	Sync() error
	Close() error
}

// OpenFile opens a file with os flags (O_RDONLY, O_WRONLY, O_RDWR, O_CREATE, O_TRUNC; O_APPEND
// is refused: writes go to explicit offsets). A folder is not a file: fs.ErrInvalid.
func (s *Sandbox) OpenFile(name string, flag int) (Handle, error) {
	if flag&os.O_APPEND != 0 {
		return nil, fmt.Errorf("appfs: open %s: O_APPEND: %w", name, errors.ErrUnsupported)
	}
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	old := int64(0)
	if flag&os.O_TRUNC != 0 {
		old = usage(r.FS(), rel, false)
	}
	f, err := r.OpenFile(rel, flag, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("appfs: open %s: not a regular file: %w", name, os.ErrInvalid)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	s.quota.release(old)
	return &handle{f: f, size: st.Size(), quota: s.quota}, nil
}

// handle is a Handle over an os.File, charging the quota with what a write adds to the file.
type handle struct {
	f     *os.File
	size  int64
	quota *Quota
}

func (h *handle) ReadAt(p []byte, off int64) (int, error) { return h.f.ReadAt(p, off) }
func (h *handle) Size() int64                             { return h.size }
func (h *handle) Sync() error                             { return h.f.Sync() }
func (h *handle) Close() error                            { return h.f.Close() }

// WriteAt writes p at off, refusing (ErrQuota, nothing written) a write that would grow the
// file past what the quota has left.
func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	growth := off + int64(len(p)) - h.size
	if growth > 0 && !h.quota.reserve(growth) {
		return 0, ErrQuota
	}
	n, err := h.f.WriteAt(p, off)
	end := off + int64(n)
	if growth > 0 {
		h.quota.release(growth - max(end-h.size, 0)) // what was reserved but not written
	}
	h.size = max(h.size, end)
	return n, err
}

// Times returns a file's birth time (statx; its last status change where the file system has
// none) and its modification time.
func (s *Sandbox) Times(name string) (created, modified time.Time, err error) {
	r, rel, _, err := s.resolve(name)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	f, err := r.Open(rel)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	defer f.Close()
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_BTIME|unix.STATX_MTIME|unix.STATX_CTIME, &stx); err != nil {
		st, serr := f.Stat()
		if serr != nil {
			return time.Time{}, time.Time{}, serr
		}
		return st.ModTime(), st.ModTime(), nil
	}
	modified = time.Unix(stx.Mtime.Sec, int64(stx.Mtime.Nsec))
	created = time.Unix(stx.Ctime.Sec, int64(stx.Ctime.Nsec))
	if stx.Mask&unix.STATX_BTIME != 0 {
		created = time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec))
	}
	return created, modified, nil
}
