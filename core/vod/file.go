package vod

import (
	"container/list"
	"context"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

// File is one open recorded file, shared by its players: its Format, and a cache of the blocks
// they read. Its lock guards the references and the cache, and is held only to look up, count
// and evict, never while reading the file.
type File struct {
	lib    *Library
	path   string
	h      io.Closer
	format Format
	size   int64
	mod    time.Time
	dur    time.Duration

	seekMu sync.Mutex // Format.Seek is not safe for concurrent use

	mu     sync.Mutex
	refs   int
	blocks map[int64]*block
	lru    list.List // cached, ready blocks; most recently used at the front

	loads, hits atomic.Uint64
}

// block is a run of consecutive messages of a file, from start to next. refs counts its holders:
// the cache while it is cached, and each player reading it; the last one releases the packets.
type block struct {
	start, next int64
	pkts        []*media.Packet
	end         bool
	err         error
	ready       chan struct{} // closed once loaded
	refs        int           // guarded by File.mu
	elem        *list.Element // in File.lru while cached
}

func newFile(l *Library, path string, h fs.File, format Format, info fs.FileInfo) *File {
	return &File{lib: l, path: path, h: h, format: format, size: info.Size(), mod: info.ModTime(),
		dur: format.Duration(), refs: 1, blocks: map[int64]*block{}}
}

// Path is the file's storage path.
func (f *File) Path() string { return f.path }

// Duration is the file's playing time.
func (f *File) Duration() time.Duration { return f.dur }

// Size is the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// Stats are the blocks read from the storage and those found in the cache, for all players.
func (f *File) Stats() (loads, hits uint64) { return f.loads.Load(), f.hits.Load() }

// Close drops one reference; the last one releases the cache and closes the storage file.
func (f *File) Close() {
	l := f.lib
	l.mu.Lock()
	f.mu.Lock()
	f.refs--
	last := f.refs == 0
	if last && l.files[f.path] == f {
		delete(l.files, f.path)
	}
	var cached []*block
	if last {
		for e := f.lru.Front(); e != nil; e = e.Next() {
			cached = append(cached, e.Value.(*block))
		}
		f.lru.Init()
		clear(f.blocks)
	}
	f.mu.Unlock()
	l.mu.Unlock()
	if !last {
		return
	}
	for _, b := range cached {
		f.release(b)
	}
	f.format.Close()
	_ = f.h.Close()
}

// seek is Format.Seek, one caller at a time.
func (f *File) seek(ms uint32) (int64, uint32, error) {
	f.seekMu.Lock()
	defer f.seekMu.Unlock()
	return f.format.Seek(ms)
}

// limit is where the block that starts at pos ends: at the first message at or past the next
// multiple of BlockBytes. Blocks started at different positions (two seeks) thus end at the same
// message and every later block is the same for both.
func (f *File) limit(pos int64) int64 {
	n := int64(f.lib.cfg.BlockBytes)
	return (pos/n + 1) * n
}

// block returns the block that starts at pos with a reference for the caller (release it), read
// now unless the cache has it or another player is reading it (then it waits for that read, or
// ctx). A block that failed to read is not cached.
func (f *File) block(ctx context.Context, pos int64) (*block, error) {
	f.mu.Lock()
	b := f.blocks[pos]
	if b != nil {
		b.refs++
		if b.elem != nil {
			f.lru.MoveToFront(b.elem)
		}
		f.mu.Unlock()
		f.hits.Add(1)
		select {
		case <-b.ready:
			return b, nil
		case <-ctx.Done():
			f.release(b)
			return nil, ctx.Err()
		}
	}
	b = &block{start: pos, ready: make(chan struct{}), refs: 2} // the caller's and the cache's
	f.blocks[pos] = b
	f.mu.Unlock()
	f.loads.Add(1)
	b.pkts, b.next, b.end, b.err = f.format.ReadBlock(pos, f.limit(pos))
	close(b.ready)
	f.cache(b)
	return b, nil
}

// cache puts a loaded block in the LRU and evicts the least recently used past CachedBlocks;
// a block that failed leaves the map (the next reader tries again).
func (f *File) cache(b *block) {
	var evicted []*block
	f.mu.Lock()
	if b.err != nil {
		if f.blocks[b.start] == b {
			delete(f.blocks, b.start)
		}
		evicted = append(evicted, b)
	} else {
		b.elem = f.lru.PushFront(b)
		for f.lru.Len() > f.lib.cfg.CachedBlocks {
			old := f.lru.Remove(f.lru.Back()).(*block)
			old.elem = nil
			delete(f.blocks, old.start)
			evicted = append(evicted, old)
		}
	}
	f.mu.Unlock()
	for _, old := range evicted {
		f.release(old) // the cache's reference
	}
}

// release drops one reference of b; the last one releases its packets.
func (f *File) release(b *block) {
	f.mu.Lock()
	b.refs--
	last := b.refs == 0
	f.mu.Unlock()
	if !last {
		return
	}
	for _, p := range b.pkts {
		p.Release()
	}
	b.pkts = nil
}
