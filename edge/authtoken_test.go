package edge

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
	"github.com/fmsgo/fmsgo/origin"
	"github.com/fmsgo/fmsgo/origin/modules/authtoken"
)

// TestAuthTokenThroughEdge: the origin's auth.token module decides for edge clients too (the
// edge forwards each publish and play with its ?query): ffmpeg publishing through the edge with
// a valid token is accepted and ffprobe plays it through the edge with its own token; an
// expired publish token and a play token for another stream are refused through the edge with
// NetStream.Publish.BadName / NetStream.Play.Failed and the module's reason.
func TestAuthTokenThroughEdge(t *testing.T) {
	t.Parallel()
	ff, probe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	const key = "edge-authtoken-key-0123456789"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.keys"), []byte("k1 "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOriginWith(t, map[string]string{"live": ""}, func(c *origin.Config) {
		c.ConfigDir = dir
		c.Plugins.Add(&authtoken.Module{KeysFile: "token.keys", Protect: []string{"publish", "play"}})
	})
	e := startEdge(t, "", o)
	tok := func(stream string, ttl time.Duration, act plugin.Action) string {
		s, err := authtoken.Sign([]byte(key), "k1", authtoken.Claims{App: "live", Stream: stream, Actions: []plugin.Action{act}, Expires: time.Now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return "?token=" + s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ffArgs := func(url string, secs string) []string {
		return []string{"-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-t", secs, "-f", "flv", url}
	}

	start := time.Now()
	out, err := exec.CommandContext(ctx, ff, ffArgs(e.url("live/cam"+tok("cam", -time.Hour, plugin.ActPublish)), "10")...).CombinedOutput()
	if err == nil || time.Since(start) > 8*time.Second || !strings.Contains(string(out), "Server error: token expired") {
		t.Fatalf("ffmpeg with an expired token through the edge: exit %v after %v\n%s", err, time.Since(start), tail(string(out), 5))
	}
	c := dial(t, e.url("live"), rtmpclient.Options{})
	if code, desc := clienttest.PublishCode(t, c, "cam"+tok("cam", -time.Hour, plugin.ActPublish)); code != "NetStream.Publish.BadName" || !strings.HasPrefix(desc, "token expired") {
		t.Fatalf("publish with an expired token through the edge: %s %q", code, desc)
	}

	pub := exec.CommandContext(ctx, ff, ffArgs(e.url("live/cam"+tok("cam", time.Hour, plugin.ActPublish)), "30")...)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	waitFor(t, "the origin to receive the publisher's media", func() bool { return mediaBytesIn(o) > 0 })
	out, err = exec.CommandContext(ctx, probe, "-v", "error", "-rw_timeout", "8000000", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", e.url("live/cam"+tok("cam", time.Hour, plugin.ActPlay))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264") {
		t.Fatalf("ffprobe with a valid token through the edge: %v\n%s", err, out)
	}

	player := dial(t, e.url("live"), rtmpclient.Options{})
	if code, desc := clienttest.PlayCode(t, player, "cam"+tok("cam2", time.Hour, plugin.ActPlay)); code != "NetStream.Play.Failed" ||
		!strings.HasPrefix(desc, `token is for another stream than "cam"`) {
		t.Fatalf("play with another stream's token through the edge: %s %q", code, desc)
	}
}

// mediaBytesIn is the media the origin's live streams received, from its metrics.
func mediaBytesIn(o *testOrigin) float64 {
	var n float64
	for _, m := range o.srv.Metrics() {
		if m.Name == "fmsgo_instance_media_bytes_in" {
			for _, s := range m.Samples {
				n += s.Value
			}
		}
	}
	return n
}
