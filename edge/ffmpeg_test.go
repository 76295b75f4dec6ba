package edge

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
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
