package edge

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/origin"
)

// vodSetup is an origin and an edge with a recording of a secs-second ffmpeg source (H.264, a
// keyframe a second, AAC), made through the edge by our client (publish type record).
type vodSetup struct {
	o    *testOrigin
	e    *testEdge
	data string
	dur  float64 // seconds, of the recording as made (a publisher as fast as the link may lose a tail)
}

func recordThroughEdge(t *testing.T, name string, secs int) *vodSetup {
	t.Helper()
	ff := requireTool(t, "ffmpeg")
	src := filepath.Join(t.TempDir(), "src.flv")
	out, err := exec.Command(ff, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
		"-c:a", "aac", "-t", strconv.Itoa(secs), "-f", "flv", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	s := &vodSetup{}
	s.o = startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) { s.data = c.Data })
	s.e = startEdge(t, "", s.o)
	pub := dial(t, s.e.url("live"), rtmpclient.Options{})
	sid, _ := pub.CreateStream(ctx5(t))
	if _, err := pub.Publish(ctx5(t), sid, name, "record"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, pub, "NetStream.Record.Start")
	sendFLV(t, pub, sid, src)
	must(t, pub.SendCommand(sid, "closeStream", 0, nil))
	waitStatus(t, pub, "NetStream.Unpublish.Success")
	pub.Close()
	if !s.o.srv.RecordingsClosed(10 * time.Second) {
		t.Fatal("the recording was not closed")
	}
	s.dur = recordingDuration(t, filepath.Join(s.data, "media", "live", "streams", "_definst_", name+".flv"))
	if s.dur < 3.5 {
		t.Fatalf("recorded %.2f s of %d", s.dur, secs)
	}
	return s
}

// recordingDuration is a recording's duration as core/flv reads it.
func recordingDuration(t *testing.T, path string) float64 {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	st, _ := f.Stat()
	r, err := flv.NewReader(f, st.Size(), flv.ReaderOptions{})
	must(t, err)
	return r.Duration().Seconds()
}

// sendFLV publishes the audio and video tags of an FLV file as fast as the connection takes them.
func sendFLV(t *testing.T, c *rtmpclient.Client, sid uint32, path string) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	st, _ := f.Stat()
	r, err := flv.NewReader(f, st.Size(), flv.ReaderOptions{})
	must(t, err)
	cur := r.Tags(r.DataOffset())
	for cur.Next() {
		if tag := cur.Tag(); tag.Type == flv.TagAudio || tag.Type == flv.TagVideo {
			must(t, c.WriteMedia(sid, tag.Type, tag.Timestamp, tag.Payload))
		}
	}
	must(t, cur.Err())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// edgeEvent is one thing a play sent our client through the edge, summarised.
type edgeEvent struct {
	what string
	ev   rtmpclient.Event
}

// eventsUntil reads sid's events up to and including the one summarised last.
func eventsUntil(t *testing.T, c *rtmpclient.Client, sid uint32, last string) []edgeEvent {
	t.Helper()
	var out []edgeEvent
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		e := edgeEvent{ev: ev}
		switch {
		case ev.Kind == rtmpclient.EventUserControl && ev.UserControl.Data == sid:
			e.what = "uc " + strconv.Itoa(int(ev.UserControl.Event))
		case ev.StreamID != sid:
			continue
		case ev.Kind == rtmpclient.EventStatus:
			e.what = ev.Info.String("code")
		case ev.Kind == rtmpclient.EventData:
			e.what = "data " + ev.Name
		case ev.Kind == rtmpclient.EventMedia:
			e.what = "media"
		default:
			continue
		}
		out = append(out, e)
		if e.what == last {
			return out
		}
	}
}

func summary(evs []edgeEvent) string {
	var w []string
	for _, e := range evs {
		if e.what != "media" || len(w) == 0 || w[len(w)-1] != "media" {
			w = append(w, e.what)
		}
	}
	return strings.Join(w, ",")
}

// firstVideo is the first video frame (not a sequence header) of evs.
func firstVideo(t *testing.T, evs []edgeEvent) rtmpclient.Event {
	t.Helper()
	for _, e := range evs {
		if e.what == "media" && e.ev.TypeID == rtmpmsg.TypeVideo && e.ev.Payload[1] != 0 {
			return e.ev
		}
	}
	t.Fatal("no video")
	return rtmpclient.Event{}
}

// TestVODThroughEdge: a recording made through an edge plays back through it, served by the
// origin over the client's trunk session (no stream is pulled): the same sequence as a direct
// client (StreamIsRecorded, StreamBegin, Play.Reset, Play.Start, |RtmpSampleAccess,
// onMetaData, media from a keyframe, onPlayStatus Complete, StreamEOF, Play.Stop),
// getStreamLength, pause and seek; ffmpeg and rtmpdump -A/-B play it; a missing recording is
// StreamNotFound within 100 ms.
func TestVODThroughEdge(t *testing.T) {
	t.Parallel()
	s := recordThroughEdge(t, "evod", 5)
	t.Run("sequence", func(t *testing.T) {
		c := dial(t, s.e.url("live"), rtmpclient.Options{})
		length, err := c.Call(ctx5(t), "getStreamLength", "evod")
		if secs, _ := length.(float64); err != nil || secs < s.dur-0.1 || secs > s.dur+0.1 {
			t.Fatalf("getStreamLength through the edge: %v %v", length, err)
		}
		sid, _ := c.CreateStream(ctx5(t))
		must(t, c.Play(sid, "evod", 0))
		evs := eventsUntil(t, c, sid, "NetStream.Play.Stop")
		want := "uc 4,uc 0,NetStream.Play.Reset,NetStream.Play.Start,data |RtmpSampleAccess,data onMetaData,media,data onPlayStatus,uc 1,NetStream.Play.Stop"
		if got := summary(evs); got != want {
			t.Fatalf("through the edge\n got %s\nwant %s", got, want)
		}
		if v := firstVideo(t, evs); v.Payload[0]>>4 != 1 {
			t.Fatal("the first video frame is not a keyframe")
		}
		info, _ := evs[len(evs)-3].ev.Args[0].(*amf.Object)
		if b, _ := info.Number("bytes"); info.String("code") != "NetStream.Play.Complete" || b < 1000 {
			t.Fatalf("onPlayStatus %v", info)
		}
		if n := s.o.srv.TrunkSubscriptions(); n != 0 {
			t.Fatalf("%d streams pulled for a recorded play", n)
		}
	})
	t.Run("pause-seek", func(t *testing.T) { pauseAndSeekThroughEdge(t, s) })
	t.Run("ffmpeg", func(t *testing.T) { ffmpegThroughEdge(t, s) })
	t.Run("rtmpdump", func(t *testing.T) { rtmpdumpThroughEdge(t, s) })
	t.Run("not-found", func(t *testing.T) {
		c := dial(t, s.e.url("live"), rtmpclient.Options{})
		sid, _ := c.CreateStream(ctx5(t))
		t0 := time.Now()
		must(t, c.Play(sid, "nosuchfile", 0))
		evs := eventsUntil(t, c, sid, "NetStream.Play.StreamNotFound")
		if d := time.Since(t0); d > 100*time.Millisecond || len(evs) != 1 {
			t.Fatalf("StreamNotFound through the edge after %v (%s), the bound is 100 ms", d, summary(evs))
		} else {
			t.Logf("StreamNotFound through the edge after %v", d)
		}
	})
}

func pauseAndSeekThroughEdge(t *testing.T, s *vodSetup) {
	c := dial(t, s.e.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	must(t, c.Play(sid, "evod", 0))
	eventsUntil(t, c, sid, "media")
	must(t, c.SendCommand(sid, "pause", 0, nil, true, 100.0))
	eventsUntil(t, c, sid, "NetStream.Pause.Notify")
	must(t, c.SendCommand(sid, "pause", 0, nil, false, 100.0))
	eventsUntil(t, c, sid, "NetStream.Unpause.Notify")
	must(t, c.SendCommand(sid, "seek", 0, nil, 3000.0))
	evs := eventsUntil(t, c, sid, "NetStream.Play.Start")
	if got := summary(evs); !strings.HasSuffix(got, "uc 1,uc 4,uc 0,NetStream.Seek.Notify,NetStream.Play.Start") {
		t.Fatalf("seek through the edge: %s", got)
	}
	evs = eventsUntil(t, c, sid, "NetStream.Play.Stop")
	if v := firstVideo(t, evs); v.Payload[0]>>4 != 1 || v.Timestamp < 2000 || v.Timestamp > 3000 {
		t.Fatalf("first video after the seek through the edge at %d", v.Timestamp)
	}
}

func ffmpegThroughEdge(t *testing.T, s *vodSetup) {
	ff, probe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	out := filepath.Join(t.TempDir(), "ff.flv")
	if b, err := exec.Command(ff, "-nostdin", "-v", "error", "-rw_timeout", "8000000", "-i", s.e.url("live/evod"),
		"-c", "copy", "-f", "flv", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg through the edge: %v\n%s", err, b)
	}
	if d := probeDuration(t, probe, out); d < s.dur-1 || d > s.dur+1 {
		t.Fatalf("ffmpeg played back %.2f s of %.2f through the edge", d, s.dur)
	}
}

func rtmpdumpThroughEdge(t *testing.T, s *vodSetup) {
	rd, probe := requireTool(t, "rtmpdump"), requireTool(t, "ffprobe")
	out := filepath.Join(t.TempDir(), "rd.flv")
	b, err := exec.Command("timeout", "30", rd, "-q", "-r", s.e.url("live/evod"), "-A", "2", "-B", "4", "-o", out).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) { // 2: "may be incomplete"
		t.Fatalf("rtmpdump through the edge: %v\n%s", err, b)
	}
	first, err := exec.Command(probe, "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1", "-show_frames",
		"-show_entries", "frame=key_frame,pts_time", "-of", "csv=p=0", out).CombinedOutput()
	must(t, err)
	key, pts, _ := strings.Cut(strings.TrimSpace(string(first)), ",")
	at, _ := strconv.ParseFloat(pts, 64)
	if key != "1" || at < 1 || at > 3 {
		t.Fatalf("rtmpdump -A 2 through the edge starts with %q", first)
	}
}

func probeDuration(t *testing.T, probe, path string) float64 {
	t.Helper()
	out, err := exec.Command(probe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).CombinedOutput()
	must(t, err)
	d, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	return d
}

// bigRecording writes a secs-second recording of 3 MB/s video (25 frames of 120 KB a second, a
// keyframe each second) into the origin's storage as live/NAME.
func bigRecording(t *testing.T, data, name string, secs int) int {
	t.Helper()
	dir := filepath.Join(data, "media", "live", "streams", "_definst_")
	must(t, os.MkdirAll(dir, 0o755))
	f, err := os.Create(filepath.Join(dir, name+".flv"))
	must(t, err)
	defer f.Close()
	w, err := flv.NewWriter(f, flv.Options{})
	must(t, err)
	must(t, w.WriteTag(flv.TagVideo, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff}))
	frames := secs * 25
	for i := range frames {
		b := make([]byte, 120<<10)
		b[0], b[1] = 0x27, 1
		if i%25 == 0 {
			b[0] = 0x17
		}
		b[5], b[6] = byte(i>>8), byte(i)
		must(t, w.WriteTag(flv.TagVideo, uint32(i*40), b))
	}
	must(t, w.Close())
	return frames
}

// TestVODThroughEdgeSlowClient: a client that stops reading for 3 s while a 3 MB/s recording
// plays through the edge gets every frame once it reads again, in order: the edge holds the
// session's delivery while the client's queue is full, the origin's player runs out of credit
// and waits, and nothing is dropped or cut off.
func TestVODThroughEdgeSlowClient(t *testing.T) {
	t.Parallel()
	var data string
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) { data = c.Data })
	e := startEdge(t, "", o)
	frames := bigRecording(t, data, "big", 4)
	c := dial(t, e.url("live"), rtmpclient.Options{EventBuffer: 4})
	sid, _ := c.CreateStream(ctx5(t))
	must(t, c.Play(sid, "big", 0))
	eventsUntil(t, c, sid, "NetStream.Play.Start")
	time.Sleep(3 * time.Second) // the client reads nothing: its socket and the edge's queue fill up
	evs := eventsUntil(t, c, sid, "NetStream.Play.Stop")
	var got []int
	for _, e := range evs {
		if e.what == "media" && e.ev.TypeID == rtmpmsg.TypeVideo && e.ev.Payload[1] == 1 {
			got = append(got, int(e.ev.Payload[5])<<8|int(e.ev.Payload[6]))
		}
	}
	if len(got) != frames {
		t.Fatalf("%d frames of %d", len(got), frames)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("frame %d is frame %d", i, n)
		}
	}
}
