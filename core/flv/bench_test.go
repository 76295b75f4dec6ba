package flv

import (
	"os"
	"path/filepath"
	"testing"
)

type discardFile struct{ n int64 }

func (d *discardFile) WriteAt(p []byte, off int64) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}
func (d *discardFile) Sync() error { return nil }

// benchStream: 2 Mb/s-ish, 25 fps with a keyframe every 2 s, AAC every 23 ms: 5 s of it.
func benchStream(b *testing.B) []msg {
	return stream{seconds: 5, fps: 25, gop: 50, audioMS: 23, frameLen: 10_000}.messages(b)
}

// benchWrite writes b.N messages of a looping stream, timestamps going on.
func benchWrite(b *testing.B, f File, opts Options) {
	msgs := benchStream(b)[3:] // the frames
	w, err := NewWriter(f, opts)
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		loop, m := i/len(msgs), msgs[i%len(msgs)]
		if err := w.WriteTag(m.typ, m.ts+uint32(loop*5000), m.payload); err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(m.payload))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(bytes / int64(b.N))
}

// BenchmarkWriter: the Writer's own cost per tag (the file discards).
func BenchmarkWriter(b *testing.B) { benchWrite(b, &discardFile{}, Options{}) }

// BenchmarkWriterFile: per tag into a real file in the temporary folder, with fsync every 10 s
// of media (the default) and on Close only (the cost of the writes alone).
func BenchmarkWriterFile(b *testing.B) {
	for _, bc := range []struct {
		name string
		sync SyncPolicy
	}{{"SyncInterval", SyncInterval}, {"SyncClose", SyncClose}} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "bench.flv"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			benchWrite(b, f, Options{Sync: bc.sync})
		})
	}
}

// BenchmarkReader: a Cursor reading tags from a file in memory, per tag.
func BenchmarkReader(b *testing.B) {
	f := &memFile{}
	w, err := NewWriter(f, Options{})
	if err != nil {
		b.Fatal(err)
	}
	writeAll(b, w, stream{seconds: 60, fps: 25, gop: 50, audioMS: 23, frameLen: 10_000}.messages(b))
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := bytesAt(f.snapshot())
	r, err := NewReader(data, int64(len(data)), ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c := r.Tags(r.DataOffset())
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !c.Next() {
			if c.Err() != nil {
				b.Fatal(c.Err())
			}
			c = r.Tags(r.DataOffset())
			c.Next()
		}
		bytes += int64(c.Tag().Size)
	}
	b.SetBytes(bytes / int64(b.N))
}
