package record

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// dirStorage is a plugin.Storage over a folder for OpenFile only (core does not import
// storage.local); gate, when set, holds every WriteAt until it is closed (a stalled disk).
type dirStorage struct {
	dir     string
	openErr error
	gate    chan struct{}
}

func (d *dirStorage) Open(context.Context, string) (fs.File, error) { return nil, fs.ErrNotExist }
func (d *dirStorage) Create(context.Context, string) (io.WriteCloser, error) {
	return nil, errors.ErrUnsupported
}
func (d *dirStorage) Remove(context.Context, string) error           { return nil }
func (d *dirStorage) List(context.Context, string) ([]string, error) { return nil, nil }

func (d *dirStorage) OpenFile(_ context.Context, name string) (plugin.File, error) {
	if d.openErr != nil {
		return nil, d.openErr
	}
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if d.gate != nil {
		return gatedFile{f, d.gate}, nil
	}
	return f, nil
}

type gatedFile struct {
	*os.File
	gate chan struct{}
}

func (g gatedFile) WriteAt(p []byte, off int64) (int, error) {
	<-g.gate
	return g.File.WriteAt(p, off)
}

// statuses collects what a recorder sends.
type statuses struct {
	mu    sync.Mutex
	codes []string
	ch    chan string
}

func newStatuses() *statuses { return &statuses{ch: make(chan string, 16)} }

func (s *statuses) send(_, code, _ string) {
	s.mu.Lock()
	s.codes = append(s.codes, code)
	s.mu.Unlock()
	s.ch <- code
}

func (s *statuses) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-s.ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no status")
		return ""
	}
}

type pubStub struct{}

func (pubStub) Kick(error) {}

// rig is a hub with one publication and a recorder of it.
type rig struct {
	hub *live.Hub
	pub *live.Publication
	st  *statuses
	rec *Recorder
	end chan Result
	set Set
}

func newRig(t *testing.T, storage plugin.Storage, mode Mode, opts flv.Options, queue int) *rig {
	t.Helper()
	r := &rig{hub: live.NewHub(live.Config{}, zerolog.Nop()), st: newStatuses(), end: make(chan Result, 1)}
	var err error
	if r.pub, err = r.hub.Publish("s", pubStub{}); err != nil {
		t.Fatal(err)
	}
	r.rec, err = r.set.Start(Config{Hub: r.hub, Stream: "s", Storage: storage, Path: "app/streams/_definst_/s.flv",
		Mode: mode, Options: opts, QueueBytes: queue, Log: zerolog.Nop(), Status: r.st.send,
		Ended: func(res Result) { r.end <- res }})
	if err != nil {
		t.Fatal(err)
	}
	r.rec.Run()
	return r
}

// publish writes secs of 25 fps video (a keyframe each second) and audio every 20 ms, from ts0.
func (r *rig) publish(ts0 uint32, secs int) {
	r.pub.Write(media.NewPacket(9, ts0, []byte{0x17, 0, 0, 0, 0, 1, 0x64}))
	r.pub.Write(media.NewPacket(8, ts0, []byte{0xAF, 0, 0x12, 0x10}))
	for ms := 0; ms < secs*1000; ms += 20 {
		ts := ts0 + uint32(ms)
		if ms%40 == 0 {
			first := byte(0x27)
			if ms%1000 == 0 {
				first = 0x17
			}
			r.pub.Write(media.NewPacket(9, ts, append([]byte{first, 1, 0, 0, 0}, make([]byte, 500)...)))
		}
		r.pub.Write(media.NewPacket(8, ts, append([]byte{0xAF, 1}, make([]byte, 100)...)))
	}
}

func readFile(t *testing.T, p string) *flv.Reader {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	r, err := flv.NewReader(f, st.Size(), flv.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecordThenAppend: a recording writes the stream with Start before and Stop at Stop; an
// append continues the file after its end (duration the sum), with its index.
func TestRecordThenAppend(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	file := filepath.Join(st.dir, "app/streams/_definst_/s.flv")
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	if c := r.st.next(t); c != CodeStart {
		t.Fatalf("first status %s", c)
	}
	r.publish(5000, 3)
	r.rec.Stop()
	if c := r.st.next(t); c != CodeStop {
		t.Fatalf("status at Stop: %s", c)
	}
	res := <-r.end
	if res.Err != nil || res.Code != CodeStop || res.Duration < 2900*time.Millisecond || res.Duration > 3100*time.Millisecond {
		t.Fatalf("first part: %+v", res)
	}
	if d := readFile(t, file).Duration(); d < 2900*time.Millisecond || d > 3100*time.Millisecond {
		t.Fatalf("file duration %v", d)
	}

	r2 := newRig(t, st, Append, flv.Options{}, 0)
	r2.st.next(t)
	r2.publish(100, 2)
	r2.rec.Stop()
	res = <-r2.end
	fr := readFile(t, file)
	if d := fr.Duration(); d < 4900*time.Millisecond || d > 5100*time.Millisecond {
		t.Fatalf("appended duration %v (%+v)", d, res)
	}
	if m := fr.Metadata(); m == nil || len(m.Keyframes) < 5 {
		t.Fatalf("index after append: %+v", m)
	}
	t.Logf("record 3 s + append 2 s: %v, %d bytes, %d keyframes", fr.Duration(), res.Size, len(fr.Metadata().Keyframes))
}

// TestLimitStops: a duration limit ends the recording with Record.Stop while the stream goes
// on; Stop afterwards sends nothing more.
func TestLimitStops(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	r := newRig(t, st, Overwrite, flv.Options{MaxDuration: time.Second}, 0)
	r.st.next(t)
	r.publish(0, 3)
	if c := r.st.next(t); c != CodeStop {
		t.Fatalf("status at the limit: %s", c)
	}
	res := <-r.end
	if !errors.Is(res.Err, flv.ErrLimit) || res.Total > time.Second+100*time.Millisecond {
		t.Fatalf("limit result %+v", res)
	}
	r.rec.Stop()
	r.publish(3000, 1) // the publication goes on without its recorder
	if len(r.st.codes) != 2 {
		t.Fatalf("statuses %v", r.st.codes)
	}
}

// TestOpenFailure: a storage that cannot open the file gives Record.Failed and no Start.
func TestOpenFailure(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir(), openErr: errors.New("disk on fire")}
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	if c := r.st.next(t); c != CodeFailed {
		t.Fatalf("status %s", c)
	}
	res := <-r.end
	r.rec.Stop()
	if res.Code != CodeFailed || res.Err == nil || len(r.st.codes) != 1 {
		t.Fatalf("result %+v, statuses %v", res, r.st.codes)
	}
}

// TestStalledDiskNeverBlocksThePublisher: with the disk stalled the publisher's writes go on
// (the recorder's bounded queue refuses media, counted); once the disk resumes, the file is
// closed on Stop.
func TestStalledDiskNeverBlocksThePublisher(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	st := &dirStorage{dir: t.TempDir(), gate: gate}
	r := newRig(t, st, Overwrite, flv.Options{}, 64<<10)
	done := make(chan struct{})
	go func() {
		r.publish(0, 10) // 10 s of media, ~150 KB: more than the queue
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher was blocked by a stalled disk")
	}
	close(gate)
	if c := r.st.next(t); c != CodeStart {
		t.Fatalf("status %s", c)
	}
	r.rec.Stop()
	res := <-r.end
	if res.Drops == 0 {
		t.Fatalf("no drops with a stalled disk: %+v", res)
	}
	if !r.set.Wait(5 * time.Second) {
		t.Fatal("Wait: the recording did not finish")
	}
	t.Logf("stalled disk: %d messages dropped, %v recorded", res.Drops, res.Duration)
}

// TestBusyPath: a second recording of a path being recorded is refused; once the first is
// stopped, a new one waits for its file to be closed.
func TestBusyPath(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	r.st.next(t)
	cfg := r.rec.cfg
	cfg.Stream = "other" // another stream named to the same file
	if _, err := r.set.Start(cfg); !errors.Is(err, ErrBusy) {
		t.Fatalf("second recording of a busy path: %v", err)
	}
	r.rec.Stop()
	<-r.end
	next, err := r.set.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	next.Stop()
	if !r.set.Wait(5 * time.Second) {
		t.Fatal("recordings did not finish")
	}
}

// TestAppendWithGap: appendWithGap leaves, between the parts, the time since the file was last
// written (here set 5 s back).
func TestAppendWithGap(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	file := filepath.Join(st.dir, "app/streams/_definst_/s.flv")
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	r.st.next(t)
	r.publish(0, 2)
	r.rec.Stop()
	<-r.end
	past := time.Now().Add(-5 * time.Second)
	if err := os.Chtimes(file, past, past); err != nil {
		t.Fatal(err)
	}
	r2 := newRig(t, st, AppendWithGap, flv.Options{}, 0)
	r2.st.next(t)
	r2.publish(0, 2)
	r2.rec.Stop()
	<-r2.end
	if d := readFile(t, file).Duration(); d < 8900*time.Millisecond || d > 9300*time.Millisecond {
		t.Fatalf("2 s, a 5 s gap, 2 s: %v", d)
	}
}

// TestTakeoverTakesTheFile: a new recorder of the same stream and path (its publisher was
// replaced before the old session stopped its recording) stops the old one and continues.
func TestTakeoverTakesTheFile(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	r.st.next(t)
	next, err := r.set.Start(r.rec.cfg)
	if err != nil {
		t.Fatalf("takeover of the recording: %v", err)
	}
	if c := r.st.next(t); c != CodeStop {
		t.Fatalf("old recording's status: %s", c)
	}
	<-r.end
	next.Run()
	if c := r.st.next(t); c != CodeStart {
		t.Fatalf("new recording's status: %s", c)
	}
	next.Stop()
	<-r.end
	if !r.set.Wait(5 * time.Second) {
		t.Fatal("recordings did not finish")
	}
}

// TestHubClosedStops: the hub closing (the instance unloading) ends the recording with
// Record.Stop and a closed file.
func TestHubClosedStops(t *testing.T) {
	t.Parallel()
	st := &dirStorage{dir: t.TempDir()}
	r := newRig(t, st, Overwrite, flv.Options{}, 0)
	r.st.next(t)
	r.publish(0, 1)
	r.hub.Close()
	if c := r.st.next(t); c != CodeStop {
		t.Fatalf("status when the hub closed: %s", c)
	}
	if res := <-r.end; !errors.Is(res.Err, live.ErrClosed) || res.Duration < 900*time.Millisecond {
		t.Fatalf("result %+v", res)
	}
	r.rec.Stop()
}
