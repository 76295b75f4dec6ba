package origin

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRealClientsPublishPlay: ffmpeg publishes a lavfi H.264+AAC source; ffprobe, an ffmpeg
// player and rtmpdump all receive it with the right codecs and a plausible frame count.
func TestRealClientsPublishPlay(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	ffmpegPublish(t, o.url("live/real"), 60)
	o.waitPublished(t, "live", "real")

	t.Run("ffprobe", func(t *testing.T) {
		t.Parallel()
		out := runTool(t, 15*time.Second, requireTool(t, "ffprobe"), "-v", "error", "-rw_timeout", "8000000",
			"-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0", o.url("live/real"))
		if !strings.Contains(out, "h264,video") || !strings.Contains(out, "aac,audio") {
			t.Fatalf("ffprobe streams: %q", out)
		}
		// a late joiner's metadata at a non-zero timestamp became a text subtitle stream in
		// ffmpeg's FLV demuxer, and FMS's NetStream.Data.Start a data stream (AMF0 clients
		// such as ffmpeg no longer get it)
		if strings.Contains(out, "subtitle") || strings.Contains(out, "data") {
			t.Fatalf("ffprobe sees a subtitle or data stream: %q", out)
		}
	})
	t.Run("ffmpeg-player", func(t *testing.T) {
		t.Parallel()
		out := runTool(t, 20*time.Second, requireTool(t, "ffmpeg"), "-nostdin", "-rw_timeout", "8000000",
			"-i", o.url("live/real"), "-t", "3", "-f", "null", "-")
		if !strings.Contains(out, "Video: h264") || !strings.Contains(out, "Audio: aac") {
			t.Fatalf("player did not see h264+aac:\n%s", tail(out, 20))
		}
		// 3 s at 25 fps is 75 frames; allow a little slack at both ends.
		if n := lastFrameCount(out); n < 65 || n > 80 {
			t.Fatalf("player decoded %d frames in 3 s, want ~75:\n%s", n, tail(out, 10))
		}
	})
	t.Run("rtmpdump", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "out.flv")
		rd := requireTool(t, "rtmpdump")
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		_ = exec.CommandContext(ctx, rd, "-r", o.url("live/real"), "--live", "-o", file).Run() // ends by timeout
		out := runTool(t, 15*time.Second, requireTool(t, "ffprobe"), "-v", "error",
			"-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0", file)
		if !strings.Contains(out, "h264,video") || !strings.Contains(out, "aac,audio") {
			t.Fatalf("ffprobe of rtmpdump's file: %q", out)
		}
	})
}

var frameRe = regexp.MustCompile(`frame=\s*(\d+)`)

func lastFrameCount(out string) int {
	m := frameRe.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// runTool runs a real client to completion within bound and returns stdout+stderr.
func runTool(t testing.TB, bound time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(string(out), 30))
	}
	return string(out)
}
