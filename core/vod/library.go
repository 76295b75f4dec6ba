// Package vod plays recorded files (video on demand) to players: FMS's play of a recorded
// stream, from a given second, for a given length, paced at real time, with pause, seek and
// receiveAudio/receiveVideo, ending with onPlayStatus NetStream.Play.Complete.
//
// Many players of one file share its reads: the Library opens each file once (one Format over
// one storage file, refcounted by its players) and keeps its most recently read blocks of
// messages in a small cache bounded per file. A block is a run of consecutive messages, read
// once and handed to every player that reaches it by reference (media.Packet), the way the
// live hub shares a publisher's messages; a player holds at most the block it is in, so its
// memory is bounded whatever the file's size.
//
// Each play has one goroutine (Player), which owns its position and clock; the session's
// commands reach it through a mutex-guarded mailbox that never blocks the caller.
package vod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/plugin"
)

// Errors of Open, which callers turn into statuses.
var (
	// ErrNotFound: no such file (wraps fs.ErrNotExist): NetStream.Play.StreamNotFound.
	ErrNotFound = fmt.Errorf("vod: no such recording: %w", fs.ErrNotExist)
	// ErrFormat: the file is not one a Format reads (NetStream.Play.FileStructureInvalid).
	ErrFormat = errors.New("vod: unreadable recording")
	// ErrUnsupported: the storage cannot serve random reads, or the file's format is not built.
	ErrUnsupported = errors.New("vod: recording cannot be played")
)

// Config tunes a Library; zero values take the defaults.
type Config struct {
	// BlockBytes is the size of the blocks a file is read in and cached by (256 KiB: about a
	// second of a 2 Mb/s stream).
	BlockBytes int
	// CachedBlocks is how many blocks each open file keeps after its players moved on (16), so
	// that players a few seconds apart read the file once.
	CachedBlocks int
	// Lead is how far ahead of real time a player sends (2 s): what it bursts at its start and
	// after a seek, and then keeps.
	Lead time.Duration
	// Tick is how often a player wakes to send what became due (100 ms).
	Tick time.Duration
	// Retry is how soon a player tries again when its client's queue is full (25 ms).
	Retry time.Duration
	// Reader is the FLV reader's limits.
	Reader flv.ReaderOptions
}

func (c Config) withDefaults() Config {
	if c.BlockBytes <= 0 {
		c.BlockBytes = 256 << 10
	}
	if c.CachedBlocks <= 0 {
		c.CachedBlocks = 16
	}
	if c.Lead <= 0 {
		c.Lead = 2 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.Retry <= 0 {
		c.Retry = 25 * time.Millisecond
	}
	return c
}

// Library is a server's open recorded files, shared by their players. Its map is guarded by a
// lock taken on open and close, never per message.
type Library struct {
	cfg   Config
	mu    sync.Mutex
	files map[string]*File
}

// NewLibrary makes an empty library.
func NewLibrary(cfg Config) *Library {
	return &Library{cfg: cfg.withDefaults(), files: map[string]*File{}}
}

// Config is the library's configuration, defaults filled in.
func (l *Library) Config() Config { return l.cfg }

// Open opens path of st for playing. A file already open with the same size and modification
// time is shared (one more reference); a changed one (re-recorded, grown) is opened anew, and the
// old one stays with its players until they close it. Close the File when done.
func (l *Library) Open(ctx context.Context, st plugin.Storage, path string) (*File, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".flv") {
		return nil, fmt.Errorf("%w: %s: only FLV files are played", ErrUnsupported, path)
	}
	h, err := st.Open(ctx, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("vod: open %s: %w", path, err)
	}
	info, err := h.Stat()
	if err != nil || info.IsDir() {
		h.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if f := l.share(path, info); f != nil {
		h.Close()
		return f, nil
	}
	return l.add(path, h, info)
}

// share returns the open File of path if it is the same file, with one more reference.
func (l *Library) share(path string, info fs.FileInfo) *File {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.files[path]
	if f == nil || f.size != info.Size() || !f.mod.Equal(info.ModTime()) {
		return nil
	}
	f.mu.Lock()
	f.refs++
	f.mu.Unlock()
	return f
}

// add reads a newly opened file and makes it the shared one of path.
func (l *Library) add(path string, h fs.File, info fs.FileInfo) (*File, error) {
	ra, ok := h.(io.ReaderAt)
	if !ok {
		h.Close()
		return nil, fmt.Errorf("%w: the storage cannot read %s at offsets", ErrUnsupported, path)
	}
	format, err := openFLV(ra, info.Size(), l.cfg.Reader)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := newFile(l, path, h, format, info)
	l.mu.Lock()
	l.files[path] = f
	l.mu.Unlock()
	return f, nil
}

// forget removes f from the map if it is still path's shared file.
func (l *Library) forget(f *File) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files[f.path] == f {
		delete(l.files, f.path)
	}
}

// Len is the number of files open now (tests, metrics).
func (l *Library) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.files)
}
