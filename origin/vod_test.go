package origin

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// recorded starts an origin and records a secs-second ffmpeg source (H.264 with a keyframe a
// second, AAC) as live/name with our client; it checks what ffprobe reads of the recording
// (duration within 1 s of the source, a keyframe index) and returns the origin, the file and
// its duration.
func recorded(t *testing.T, name string, secs int) (*testOrigin, string, time.Duration) {
	t.Helper()
	src := sourceFLV(t, secs)
	srcDur, _ := ffprobe(t, src)
	o := startOrigin(t, "live")
	recordOnce(t, o, name, "record", src)
	file := o.recording(name)
	d, codecs := ffprobe(t, file)
	if !near(d, srcDur, time.Second) || strings.Join(codecs, ",") != "h264,aac" {
		t.Fatalf("recorded %v %v, source %v", d, codecs, srcDur)
	}
	if m := openFLV(t, file).Metadata(); m == nil || len(m.Keyframes) < secs-1 {
		t.Fatalf("keyframe index of the recording: %+v", m)
	}
	return o, file, d
}

// probedFrame is one video frame as ffprobe reads it.
type probedFrame struct {
	PTS float64
	Key bool
}

// videoFrames lists the video frames of a file with their presentation times and keyframe
// flags (ffprobe -show_packets: Debian's ffprobe 5.1 crashes decoding up to the onPlayStatus
// data tag that GStreamer's rtmp2src writes into its output), and checks with -show_frames that
// the first one decodes as a keyframe.
func videoFrames(t *testing.T, path string) []probedFrame {
	t.Helper()
	probe := requireTool(t, "ffprobe")
	out := runTool(t, 30*time.Second, probe, "-v", "error", "-select_streams", "v",
		"-show_packets", "-show_entries", "packet=pts_time,flags", "-of", "json", path)
	var p struct {
		Packets []struct {
			PTS   string `json:"pts_time"`
			Flags string `json:"flags"`
		} `json:"packets"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Packets) == 0 {
		t.Fatalf("ffprobe packets of %s: %v %q", path, err, tail(out, 5))
	}
	var frames []probedFrame
	for _, f := range p.Packets {
		pts, _ := strconv.ParseFloat(f.PTS, 64)
		frames = append(frames, probedFrame{PTS: pts, Key: strings.HasPrefix(f.Flags, "K")})
	}
	first := runTool(t, 30*time.Second, probe, "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
		"-show_frames", "-show_entries", "frame=key_frame", "-of", "csv=p=0", path)
	if !strings.HasPrefix(strings.TrimSpace(first), "1") {
		t.Fatalf("the first frame of %s does not decode as a keyframe: %q", path, first)
	}
	return frames
}

// startsAt checks that a played-back file begins with a keyframe within a GOP (1 s) of at, and
// returns its frames.
func startsAt(t *testing.T, path string, at float64) []probedFrame {
	t.Helper()
	frames := videoFrames(t, path)
	if f := frames[0]; !f.Key || f.PTS < at-1 || f.PTS > at+1 {
		t.Fatalf("%s starts with %+v, want a keyframe at %.1f s ± 1 s", filepath.Base(path), f, at)
	}
	return frames
}

// TestVODFFmpeg: ffmpeg (start −2000: no publisher, so the recording) plays a recording from
// its start to its end (same duration within 1 s, first frame a keyframe at 0), and with
// -ss 3, which ffmpeg turns into a seek command, from the keyframe at 3 s.
func TestVODFFmpeg(t *testing.T) {
	t.Parallel()
	o, _, dur := recorded(t, "vod1", 6)
	ff := requireTool(t, "ffmpeg")
	whole := filepath.Join(t.TempDir(), "whole.flv")
	runTool(t, 30*time.Second, ff, "-nostdin", "-v", "error", "-rw_timeout", "8000000", "-i", o.url("live/vod1"), "-c", "copy", "-f", "flv", whole)
	if d, _ := ffprobe(t, whole); !near(d, dur, time.Second) {
		t.Fatalf("played back %v of %v", d, dur)
	}
	startsAt(t, whole, 0)
	sought := filepath.Join(t.TempDir(), "sought.flv")
	runTool(t, 30*time.Second, ff, "-nostdin", "-v", "error", "-rw_timeout", "8000000", "-ss", "3", "-copyts", "-i", o.url("live/vod1"), "-c", "copy", "-f", "flv", sought)
	frames := startsAt(t, sought, 3)
	if last := frames[len(frames)-1].PTS; !near(time.Duration(last*float64(time.Second)), dur, time.Second) {
		t.Fatalf("after the seek the play ends at %.2f s of %v", last, dur)
	}
}

// TestVODRtmpdump: rtmpdump plays a recording whole, and with -A 2 -B 4 (start 2000, len 2000)
// from 2 s (it adds its start to the timestamps, which count from the start's keyframe) to
// about 4 s. rtmpdump exits 0, or 2 when the file's duration (which includes the last frame's
// own) exceeds the last timestamp by more than its 0.1 % ("may be incomplete").
func TestVODRtmpdump(t *testing.T) {
	t.Parallel()
	o, _, dur := recorded(t, "vod2", 6)
	rd := requireTool(t, "rtmpdump")
	whole := filepath.Join(t.TempDir(), "whole.flv")
	rtmpdump(t, rd, "-r", o.url("live/vod2"), "-o", whole)
	if d, _ := ffprobe(t, whole); !near(d, dur, time.Second) {
		t.Fatalf("played back %v of %v", d, dur)
	}
	startsAt(t, whole, 0)
	part := filepath.Join(t.TempDir(), "part.flv")
	rtmpdump(t, rd, "-r", o.url("live/vod2"), "-A", "2", "-B", "4", "-o", part)
	frames := startsAt(t, part, 2)
	if last := frames[len(frames)-1].PTS; last < 3 || last > 5 {
		t.Fatalf("-B 4 ends at %.2f s", last)
	}
}

// rtmpdump runs rtmpdump to the end of a recorded play (exit 0, or 2: see TestVODRtmpdump).
func rtmpdump(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command("timeout", append([]string{"30", bin, "-q"}, args...)...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) {
		t.Fatalf("rtmpdump %v: %v\n%s", args, err, out)
	}
}

// TestVODGStreamer: GStreamer's rtmp2src (which sends start −2) plays a recording whole and
// ends by itself at its end.
func TestVODGStreamer(t *testing.T) {
	t.Parallel()
	o, _, dur := recorded(t, "vod3", 6)
	gst := requireTool(t, "gst-launch-1.0")
	out := filepath.Join(t.TempDir(), "gst.flv")
	runTool(t, 30*time.Second, gst, "-q", "rtmp2src", "location="+o.url("live/vod3"), "!", "filesink", "location="+out)
	if d, _ := ffprobe(t, out); !near(d, dur, time.Second) {
		t.Fatalf("played back %v of %v", d, dur)
	}
	startsAt(t, out, 0)
}

// vodEvent is one thing a recorded play sent our client, summarised.
type vodEvent struct {
	what string // "uc N", a status code, "data NAME", "media"
	ev   rtmpclient.Event
}

// collectVOD reads sid's events until (and including) the status code last.
func collectVOD(t *testing.T, c *rtmpclient.Client, sid uint32, last string) []vodEvent {
	t.Helper()
	var out []vodEvent
	for {
		ev, err := c.NextEvent(ctx5(t))
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if ev.StreamID != sid && !(ev.Kind == rtmpclient.EventUserControl && ev.UserControl.Data == sid) {
			continue
		}
		e := vodEvent{ev: ev}
		switch ev.Kind {
		case rtmpclient.EventUserControl:
			e.what = "uc " + strconv.Itoa(int(ev.UserControl.Event))
		case rtmpclient.EventStatus:
			e.what = ev.Info.String("code")
		case rtmpclient.EventData:
			e.what = "data " + ev.Name
		case rtmpclient.EventMedia:
			e.what = "media"
		}
		out = append(out, e)
		if e.what == last {
			return out
		}
	}
}

func whats(evs []vodEvent) []string {
	var w []string
	for _, e := range evs {
		if e.what != "media" || len(w) == 0 || w[len(w)-1] != "media" {
			w = append(w, e.what)
		}
	}
	return w
}

// TestVODStatusSequence: a recorded play sends StreamIsRecorded, StreamBegin, Play.Reset,
// Play.Start, |RtmpSampleAccess, onMetaData, then media from a keyframe, and at the end
// onPlayStatus NetStream.Play.Complete {duration, bytes}, StreamEOF, Play.Stop;
// getStreamLength answers the recording's duration.
func TestVODStatusSequence(t *testing.T) {
	t.Parallel()
	o, _, dur := recorded(t, "vod4", 3)
	c := dial(t, o.url("live"), rtmpclient.Options{})
	length, err := c.Call(ctx5(t), "getStreamLength", "vod4")
	if secs, _ := length.(float64); err != nil || !near(time.Duration(secs*float64(time.Second)), dur, 100*time.Millisecond) {
		t.Fatalf("getStreamLength: %v %v, duration %v", length, err, dur)
	}
	sid, _ := c.CreateStream(ctx5(t))
	must(t, c.Play(sid, "vod4", 0))
	evs := collectVOD(t, c, sid, "NetStream.Play.Stop")
	want := "uc 4,uc 0,NetStream.Play.Reset,NetStream.Play.Start,data |RtmpSampleAccess,data onMetaData,media,data onPlayStatus,uc 1,NetStream.Play.Stop"
	if got := strings.Join(whats(evs), ","); got != want {
		t.Fatalf("sequence\n got %s\nwant %s", got, want)
	}
	checkFirstFrame(t, evs)
	info, _ := evs[len(evs)-3].ev.Args[0].(*amf.Object)
	secs, _ := info.Number("duration")
	bytes, _ := info.Number("bytes")
	if info.String("code") != "NetStream.Play.Complete" || !near(time.Duration(secs*float64(time.Second)), dur, 100*time.Millisecond) || bytes < 1000 {
		t.Fatalf("onPlayStatus %v", info)
	}
}

// checkFirstFrame: the first video frame after the sequence header is a keyframe.
func checkFirstFrame(t *testing.T, evs []vodEvent) {
	t.Helper()
	for _, e := range evs {
		if e.what != "media" || e.ev.TypeID != rtmpmsg.TypeVideo || e.ev.Payload[1] == 0 {
			continue
		}
		if e.ev.Payload[0]>>4 != 1 {
			t.Fatalf("first video frame at %d is not a keyframe", e.ev.Timestamp)
		}
		return
	}
	t.Fatal("no video")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
