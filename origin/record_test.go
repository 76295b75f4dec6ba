package origin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin/modules/localstorage"
	"github.com/rs/zerolog"
)

// sourceFLV is an ffmpeg-made FLV of secs seconds: H.264 (a keyframe a second) and AAC.
func sourceFLV(t *testing.T, secs int) string {
	t.Helper()
	ff := requireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "src.flv")
	runTool(t, 60*time.Second, ff, "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-t", strconv.Itoa(secs), "-f", "flv", out)
	return out
}

// openFLV reads a file with core/flv's Reader.
func openFLV(t *testing.T, path string) *flv.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := flv.NewReader(f, st.Size(), flv.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// publishFLV sends the audio and video tags of an FLV file on sid, with their timestamps, as
// fast as the connection takes them.
func publishFLV(t *testing.T, c *rtmpclient.Client, sid uint32, path string) {
	t.Helper()
	cur := openFLV(t, path).Tags(openFLV(t, path).DataOffset())
	for cur.Next() {
		tag := cur.Tag()
		if tag.Type != flv.TagAudio && tag.Type != flv.TagVideo {
			continue
		}
		if err := c.WriteMedia(sid, tag.Type, tag.Timestamp, tag.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
}

// statusesUntil collects the codes of sid's statuses up to and including last.
func statusesUntil(t *testing.T, c *rtmpclient.Client, sid uint32, last string) []string {
	t.Helper()
	var codes []string
	for {
		code := nextStatus(t, c, sid)
		codes = append(codes, code)
		if code == last {
			return codes
		}
	}
}

// recordOnce publishes src with mode on a new client and unpublishes; it returns the statuses
// from Publish.Start to Unpublish.Success, once the recording's file is closed.
func recordOnce(t *testing.T, o *testOrigin, name, mode, src string) []string {
	t.Helper()
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, err := c.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendCommand(sid, "publish", 0, nil, name, mode); err != nil {
		t.Fatal(err)
	}
	codes := statusesUntil(t, c, sid, "NetStream.Record.Start")
	publishFLV(t, c, sid, src)
	if err := c.SendCommand(sid, "closeStream", 0, nil); err != nil {
		t.Fatal(err)
	}
	codes = append(codes, statusesUntil(t, c, sid, "NetStream.Unpublish.Success")...)
	c.Close()
	waitRecordings(t, o)
	return codes
}

// waitRecordings waits for every recording's file to be closed.
func waitRecordings(t *testing.T, o *testOrigin) {
	t.Helper()
	if !o.srv.sessionEnv.Recordings.Wait(10 * time.Second) {
		t.Fatal("recordings not closed within 10 s")
	}
}

func (o *testOrigin) recording(name string) string {
	return filepath.Join(o.srv.cfg.Data, "media", "live", "streams", DefaultInstance, filepath.FromSlash(name)+".flv")
}

// probe is what ffprobe says of a file.
type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName string `json:"codec_name"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, path string) (time.Duration, []string) {
	t.Helper()
	out := runTool(t, 30*time.Second, requireTool(t, "ffprobe"), "-v", "error", "-show_entries",
		"format=duration:stream=codec_name", "-of", "json", path)
	var p probe
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	secs, _ := strconv.ParseFloat(p.Format.Duration, 64)
	var codecs []string
	for _, s := range p.Streams {
		codecs = append(codecs, s.CodecName)
	}
	return time.Duration(secs * float64(time.Second)), codecs
}

func near(d, want, tol time.Duration) bool { return d > want-tol && d < want+tol }

// TestRecordPublish: a client publishing with type record gets Publish.Start then
// Record.Start, and at unpublish Record.Stop then Unpublish.Success; the file under
// DATA/media/live/streams/_definst_ is H.264 + AAC, as long as the source (ffprobe, within 1 s),
// with a keyframe index, and decodes from 2 s. A second publish with append continues it (the
// sum of both), and the events modules hear record and recordStop.
func TestRecordPublish(t *testing.T) {
	t.Parallel()
	src := sourceFLV(t, 4)
	srcDur, _ := ffprobe(t, src)
	pm := &policyModule{}
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(pm) }, "live")

	codes := recordOnce(t, o, "show/rec1", "record", src)
	want := []string{"NetStream.Publish.Start", "NetStream.Record.Start", "NetStream.Record.Stop", "NetStream.Unpublish.Success"}
	if strings.Join(codes, ",") != strings.Join(want, ",") {
		t.Fatalf("statuses %v, want %v", codes, want)
	}
	file := o.recording("show/rec1")
	d, codecs := ffprobe(t, file)
	if !near(d, srcDur, time.Second) || strings.Join(codecs, ",") != "h264,aac" {
		t.Fatalf("recorded %v %v, source %v", d, codecs, srcDur)
	}
	m := openFLV(t, file).Metadata()
	if m == nil || len(m.Keyframes) < 3 {
		t.Fatalf("keyframe index of the recording: %+v", m)
	}
	runTool(t, 30*time.Second, requireTool(t, "ffmpeg"), "-v", "error", "-ss", "2", "-i", file, "-frames:v", "1", "-f", "null", "-")
	t.Logf("recorded %v (source %v), %d keyframes indexed", d, srcDur, len(m.Keyframes))

	recordOnce(t, o, "show/rec1", "append", src)
	d2, _ := ffprobe(t, file)
	if !near(d2, 2*srcDur, time.Second) {
		t.Fatalf("after append: %v, want about %v", d2, 2*srcDur)
	}
	if n := len(openFLV(t, file).Metadata().Keyframes); n < 2*len(m.Keyframes)-1 {
		t.Fatalf("index after append: %d keyframes", n)
	}
	runTool(t, 30*time.Second, requireTool(t, "ffmpeg"), "-v", "error", "-ss", strconv.Itoa(int(srcDur.Seconds())+1), "-i", file, "-frames:v", "1", "-f", "null", "-")
	t.Logf("appended: %v", d2)

	waitFor(t, 5*time.Second, "recordStop events", func() bool { return countKind(pm, plugin.EvRecordStop) == 2 })
	if n := countKind(pm, plugin.EvRecord); n != 2 {
		t.Fatalf("%d record events", n)
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	for _, ev := range pm.events {
		if ev.Kind == plugin.EvRecordStop && (ev.BytesIn == 0 || !near(ev.Duration, srcDur, time.Second) || ev.Stream != "show/rec1") {
			t.Fatalf("recordStop event %+v", ev)
		}
	}
}

func countKind(p *policyModule, k plugin.EventKind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range p.events {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// limitModule caps recordings at 1 s, and refuses to record "secret".
type limitModule struct{}

func (limitModule) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.recordlimit", New: func() plugin.Module { return limitModule{} }}
}

func (limitModule) Authorize(_ context.Context, r *plugin.Request) plugin.Decision {
	if r.Action == plugin.ActRecord {
		if r.Stream == "secret" {
			return plugin.Decision{Verdict: plugin.Reject, Reason: "not recorded here"}
		}
		r.RecordMaxSeconds = 1
	}
	return plugin.Decision{Verdict: plugin.Accept}
}

// TestRecordLimitAndNoAccess: an auth module's RecordMaxSeconds ends the recording with
// Record.Stop while the stream stays published (the file holds about the limit); a record the
// auth module refuses, or of a stream outside the client's writeAccess, is Record.NoAccess and
// nothing is published or written.
func TestRecordLimitAndNoAccess(t *testing.T) {
	t.Parallel()
	src := sourceFLV(t, 3)
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(limitModule{}) }, "live", "ro")
	o.writeApp(t, "ro", `application.onConnect = function (c) { c.writeAccess = "open"; return true; };`)

	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	if _, err := c.Publish(ctx5(t), sid, "capped", "record"); err != nil {
		t.Fatal(err)
	}
	if code := nextStatus(t, c, sid); code != "NetStream.Record.Start" {
		t.Fatalf("after Publish.Start: %s", code)
	}
	publishFLV(t, c, sid, src)
	if code := nextStatus(t, c, sid); code != "NetStream.Record.Stop" {
		t.Fatalf("at the limit: %s", code)
	}
	waitRecordings(t, o)
	if !o.srv.hasPublisher("live", DefaultInstance, "capped") {
		t.Fatal("the limit ended the publish too")
	}
	if d := openFLV(t, o.recording("capped")).Duration(); d > 1100*time.Millisecond || d < 800*time.Millisecond {
		t.Fatalf("capped recording is %v", d)
	}

	for _, tc := range []struct{ app, name string }{{"live", "secret"}, {"ro", "closed"}} {
		cl := dial(t, o.url(tc.app), rtmpclient.Options{})
		sid, _ := cl.CreateStream(ctx5(t))
		_, err := cl.Publish(ctx5(t), sid, tc.name, "record")
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetStream.Record.NoAccess" {
			t.Fatalf("record of %s/%s: %v", tc.app, tc.name, err)
		}
		if o.srv.hasPublisher(tc.app, DefaultInstance, tc.name) {
			t.Fatalf("%s/%s published after its record was refused", tc.app, tc.name)
		}
	}
	if _, err := os.Stat(filepath.Join(o.srv.cfg.Data, "media", "ro")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused recording wrote: %v", err)
	}
	cl := dial(t, o.url("ro"), rtmpclient.Options{}) // inside writeAccess: recorded
	sid, _ = cl.CreateStream(ctx5(t))
	if _, err := cl.Publish(ctx5(t), sid, "open/x", "record"); err != nil {
		t.Fatal(err)
	}
	if code := nextStatus(t, cl, sid); code != "NetStream.Record.Start" {
		t.Fatalf("record inside writeAccess: %s", code)
	}
}

// failingStorage is a storage module whose files cannot be opened for recording.
type failingStorage struct{}

func (*failingStorage) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.failstorage", New: func() plugin.Module { return new(failingStorage) }}
}
func (*failingStorage) Open(context.Context, string) (fs.File, error) { return nil, fs.ErrNotExist }
func (*failingStorage) Create(context.Context, string) (io.WriteCloser, error) {
	return nil, errors.New("read-only")
}
func (*failingStorage) OpenFile(context.Context, string) (plugin.File, error) {
	return nil, errors.New("the disk is full")
}
func (*failingStorage) Remove(context.Context, string) error           { return nil }
func (*failingStorage) List(context.Context, string) ([]string, error) { return nil, nil }

// TestRecordStorageFails: a storage that fails gives Record.Failed after Publish.Start, and the
// live stream goes on (a player gets it).
func TestRecordStorageFails(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(&failingStorage{}) }, "live")
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	if _, err := c.Publish(ctx5(t), sid, "doomed", "record"); err != nil {
		t.Fatal(err)
	}
	if code := nextStatus(t, c, sid); code != "NetStream.Record.Failed" {
		t.Fatalf("with a failing storage: %s", code)
	}
	publishHeaders(t, c, sid)
	c.WriteMedia(sid, 9, 0, videoFrame(0, true, 100))
	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	if err := player.Play(psid, "doomed", -1); err != nil {
		t.Fatal(err)
	}
	for code := nextStatus(t, player, psid); code != "NetStream.Play.Start"; code = nextStatus(t, player, psid) {
		if code != "NetStream.Play.Reset" {
			t.Fatalf("play of a stream whose recording failed: %s", code)
		}
	}
}

// slowStorage is storage.local whose fsync takes 300 ms (a slow disk), counting the recording
// files still open.
type slowStorage struct {
	*localstorage.Module
	open atomic.Int32
}

func (*slowStorage) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.slowstorage", New: func() plugin.Module { return new(slowStorage) }}
}

func (s *slowStorage) OpenFile(ctx context.Context, name string) (plugin.File, error) {
	f, err := s.Module.OpenFile(ctx, name)
	if err != nil {
		return nil, err
	}
	s.open.Add(1)
	return &slowFile{File: f, s: s}, nil
}

type slowFile struct {
	plugin.File
	s *slowStorage
}

func (f *slowFile) Sync() error {
	time.Sleep(300 * time.Millisecond) // the disk's time, not a test's wait
	return f.File.Sync()
}

func (f *slowFile) Close() error {
	f.s.open.Add(-1)
	return f.File.Close()
}

// TestShutdownClosesRecordings: a recording still running when the origin shuts down is
// closed (its final metadata written and synced to a slow disk) before Shutdown returns.
func TestShutdownClosesRecordings(t *testing.T) {
	t.Parallel()
	media := t.TempDir()
	st := &slowStorage{Module: &localstorage.Module{Root: media}}
	cfg := DefaultConfig()
	cfg.RTMP, cfg.Trunk, cfg.HTTP = "127.0.0.1:0", "", ""
	cfg.Apps, cfg.Data = t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg.Apps, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Limits.DrainTimeout = time.Second
	cfg.Plugins.Add(st)
	srv, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "rtmp://"+srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	if _, err := c.Publish(ctx5(t), sid, "running", "record"); err != nil {
		t.Fatal(err)
	}
	if code := nextStatus(t, c, sid); code != "NetStream.Record.Start" {
		t.Fatalf("status %s", code)
	}
	// a player subscribed after the recorder: once it has the last frame, so has the recorder
	player := dial(t, "rtmp://"+srv.RTMPAddr().String()+"/live", rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	if err := player.Play(psid, "running", -1); err != nil {
		t.Fatal(err)
	}
	for code := nextStatus(t, player, psid); code != "NetStream.Play.Start"; code = nextStatus(t, player, psid) {
	}
	publishHeaders(t, c, sid)
	for i := range 10 {
		c.WriteMedia(sid, 9, uint32(i*100), videoFrame(i, i%5 == 0, 100))
	}
	for {
		ev, err := player.NextEvent(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 && ev.Timestamp >= 900 {
			break
		}
	}
	cancel()
	srv.Shutdown()
	if n := st.open.Load(); n != 0 {
		t.Fatalf("%d recording files still open after Shutdown", n)
	}
	r := openFLV(t, filepath.Join(media, "live", "streams", DefaultInstance, "running.flv"))
	if m := r.Metadata(); r.Duration() < 900*time.Millisecond || m == nil || m.Duration < 0.9 || len(m.Keyframes) != 2 {
		t.Fatalf("after Shutdown: %v, metadata %+v", r.Duration(), m)
	}
	t.Logf("after Shutdown: %d bytes, %v, metadata duration %.3f s", r.Size(), r.Duration(), r.Metadata().Duration)
}

// renamer is a naming module: "elsewhere" is recorded under other/place.flv, "escape" tries to
// leave the storage.
type renamer struct{}

func (renamer) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.renamer", New: func() plugin.Module { return renamer{} }}
}

func (renamer) PhysicalName(_ context.Context, req *plugin.NameRequest) error {
	switch req.Stream {
	case "elsewhere":
		req.Path = "other/place.flv"
	case "escape":
		req.Path = "../../escaped.flv"
	}
	return nil
}

// TestRecordNaming: a naming module's path is where the recording goes; a path out of the
// storage, a name with "..", or an mp4: name is Record.Failed with nothing published or
// written; "flv:" is FMS's explicit FLV prefix.
func TestRecordNaming(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(renamer{}) }, "live")
	for _, name := range []string{"escape", "a/../../b", "mp4:clip.mp4"} {
		c := dial(t, o.url("live"), rtmpclient.Options{})
		sid, _ := c.CreateStream(ctx5(t))
		_, err := c.Publish(ctx5(t), sid, name, "record")
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetStream.Record.Failed" {
			t.Fatalf("record of %q: %v", name, err)
		}
	}
	for _, tc := range []struct{ name, file string }{{"elsewhere", "other/place.flv"}, {"flv:plain", "live/streams/_definst_/plain.flv"}} {
		c := dial(t, o.url("live"), rtmpclient.Options{})
		sid, _ := c.CreateStream(ctx5(t))
		if _, err := c.Publish(ctx5(t), sid, tc.name, "record"); err != nil {
			t.Fatal(err)
		}
		if code := nextStatus(t, c, sid); code != "NetStream.Record.Start" {
			t.Fatalf("record of %s: %s", tc.name, code)
		}
		if _, err := os.Stat(filepath.Join(o.srv.cfg.Data, "media", filepath.FromSlash(tc.file))); err != nil {
			t.Fatalf("record of %s: %v", tc.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.srv.cfg.Data, "media", "..", "..", "escaped.flv")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a recording escaped the storage: %v", err)
	}
}
