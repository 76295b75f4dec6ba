package vod

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// memStorage serves one file from memory (fuzzing writes none to disk).
type memStorage struct {
	dirStorage
	data []byte
}

type memFile struct {
	*bytes.Reader
	size int64
}

func (m memFile) Stat() (fs.FileInfo, error) { return m, nil }
func (m memFile) Close() error               { return nil }
func (m memFile) Name() string               { return "f.flv" }
func (m memFile) Size() int64                { return m.size }
func (memFile) Mode() fs.FileMode            { return 0o644 }
func (memFile) ModTime() time.Time           { return time.Time{} }
func (memFile) IsDir() bool                  { return false }
func (memFile) Sys() any                     { return nil }

func (m memStorage) Open(context.Context, string) (fs.File, error) {
	return memFile{Reader: bytes.NewReader(m.data), size: int64(len(m.data))}, nil
}

// FuzzPlay plays any bytes as a recording: opening, seeking and playing them to the end must
// neither panic, nor hang, nor keep a block once stopped.
func FuzzPlay(f *testing.F) {
	dir := f.TempDir()
	good, err := os.ReadFile(writeFLV(f, dir, "seed.flv", 2, 10, 200))
	must(f, err)
	f.Add(good, uint32(0), int64(-1))
	f.Add(good, uint32(1500), int64(300))
	f.Add(good[:len(good)-7], uint32(900), int64(0))
	f.Add(good[:200], uint32(0), int64(-1))
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"), uint32(0), int64(-1))
	cut := append([]byte(nil), good...)
	cut[len(cut)/2] ^= 0xFF // a broken tag header or payload in the middle
	f.Add(cut, uint32(500), int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, start uint32, length int64) {
		lib := NewLibrary(Config{Lead: 100 * 365 * 24 * time.Hour, BlockBytes: 4 << 10, CachedBlocks: 2})
		file, err := lib.Open(context.Background(), memStorage{data: data}, "f.flv")
		if err != nil {
			return
		}
		p, err := NewPlayer(file, Request{Start: start, Len: length, Stop: stopStatus(), Log: zerolog.Nop()})
		if err != nil {
			file.Close()
			return
		}
		s := newSink()
		p.Start(s)
		s.waitFor(t, 10*time.Second, "the end", hasStatus("NetStream.Play.Stop"))
		p.Stop()
		if lib.Len() != 0 || len(file.blocks) != 0 {
			t.Fatalf("%d files, %d blocks left", lib.Len(), len(file.blocks))
		}
	})
}
