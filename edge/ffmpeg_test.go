package edge

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/peertest"
)

func requireTool(t testing.TB, name string) string {
	t.Helper()
	return peertest.RequireTool(t, name)
}

// TestFFprobeThroughEdge: ffmpeg publishes to the origin (or through the edge), ffprobe plays
// through the edge and finds both tracks (codec headers come from the edge's local hub).
func TestFFprobeThroughEdge(t *testing.T) {
	t.Parallel()
	for _, viaEdge := range []bool{false, true} {
		t.Run(map[bool]string{false: "publish-to-origin", true: "publish-through-edge"}[viaEdge], func(t *testing.T) {
			t.Parallel()
			ffprobeThroughEdge(t, viaEdge)
		})
	}
}

func ffprobeThroughEdge(t *testing.T, publishViaEdge bool) {
	ff, probe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	target := "rtmp://" + o.srv.RTMPAddr().String() + "/live/cam"
	if publishViaEdge {
		target = e.url("live/cam")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, ff, "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-c:a", "aac", "-t", "15",
		"-f", "flv", target)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	var out []byte
	var err error
	for range 20 { // until the publisher is up: ffprobe fails fast on a stream with no media yet
		out, err = exec.CommandContext(ctx, probe, "-v", "error", "-rw_timeout", "5000000", "-show_entries", "stream=codec_name",
			"-of", "csv=p=0", e.url("live/cam")).CombinedOutput()
		if err == nil && strings.Contains(string(out), "h264") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(string(out), "h264") || !strings.Contains(string(out), "aac") {
		t.Fatalf("ffprobe through the edge: %v\n%s", err, out)
	}
}

// TestFFmpegFirstFrameOnlyVideoAudio: ffprobe -show_streams of a running ffmpeg-published stream,
// on the origin directly and through the edge, lists exactly one H.264 video and one AAC audio
// stream (NetStream.Data.Start, a data message named onStatus, made ffmpeg's FLV demuxer add a
// data stream, "Data: none"; ffmpeg connects AMF0 and no longer gets it), and a default ffmpeg
// player decodes its first frame. How long that takes is measured by `make bench` (samples/bench firstframe.go).
func TestFFmpegFirstFrameOnlyVideoAudio(t *testing.T) {
	t.Parallel()
	ff, probe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	o := startOrigin(t, "", map[string]string{"live": ""})
	e := startEdge(t, "", o)
	direct := "rtmp://" + o.srv.RTMPAddr().String() + "/live/first"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, ff, "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-c:a", "aac", "-t", "30",
		"-f", "flv", direct)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	for _, url := range []string{direct, e.url("live/first")} {
		waitForVideo(ctx, t, probe, url)
		out, err := exec.CommandContext(ctx, probe, "-v", "error", "-rw_timeout", "5000000", "-show_streams", "-of", "json", url).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
		}
		var probed struct {
			Streams []struct {
				CodecType string `json:"codec_type"`
				CodecName string `json:"codec_name"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &probed); err != nil {
			t.Fatalf("ffprobe %s output: %v\n%s", url, err, out)
		}
		var got []string
		for _, s := range probed.Streams {
			got = append(got, s.CodecType+":"+s.CodecName)
		}
		slices.Sort(got)
		if want := []string{"audio:aac", "video:h264"}; !slices.Equal(got, want) {
			t.Fatalf("ffprobe -show_streams %s: streams %v, want exactly %v", url, got, want)
		}
		play, err := exec.CommandContext(ctx, ff, "-nostdin", "-rw_timeout", "8000000", "-i", url,
			"-frames:v", "1", "-f", "null", "-").CombinedOutput()
		if err != nil || !strings.Contains(string(play), "Video: h264") || !regexp.MustCompile(`frame=\s*1\b`).Match(play) {
			t.Fatalf("ffmpeg -frames:v 1 %s: %v\n%s", url, err, tail(string(play), 20))
		}
		if strings.Contains(string(play), "Data:") {
			t.Fatalf("ffmpeg %s sees a data stream:\n%s", url, tail(string(play), 20))
		}
	}
}

// waitForVideo polls ffprobe until url has a video stream (the publisher is up).
func waitForVideo(ctx context.Context, t *testing.T, probe, url string) {
	t.Helper()
	var out []byte
	var err error
	for range 40 {
		out, err = exec.CommandContext(ctx, probe, "-v", "error", "-rw_timeout", "5000000", "-show_entries", "stream=codec_name",
			"-of", "csv=p=0", url).CombinedOutput()
		if err == nil && strings.Contains(string(out), "h264") {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no video at %s: %v\n%s", url, err, out)
}
