package origin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppRecordsEveryPublish: with app.json's recordPublishes, ffmpeg's live publishes are
// recorded without a line of code (ffmpeg and OBS only publish "live"): the file has the whole
// publish, a keyframe index, and ffmpeg reads it; "append" adds the next publish to it. An app
// without the key records nothing, and a bad value is an app.json error.
func TestAppRecordsEveryPublish(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "show", "plain")
	o.writeApp(t, "show", "")
	if err := os.WriteFile(filepath.Join(o.apps, "show", "app.json"), []byte(`{"recordPublishes": "append"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const secs = 3
	for i := 0; i < 2; i++ {
		p := ffmpegPublish(t, o.url("show/cam"), secs)
		<-p.done
		if p.cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("ffmpeg publish %d failed", i+1)
		}
		waitFor(t, 10*time.Second, "the publish to end", func() bool { return !o.srv.hasPublisher("show", DefaultInstance, "cam") })
		waitRecordings(t, o)
		file := filepath.Join(o.srv.cfg.Data, "media", "show", "streams", DefaultInstance, "cam.flv")
		d, codecs := ffprobe(t, file)
		if want := time.Duration(i+1) * secs * time.Second; !near(d, want, time.Second) || strings.Join(codecs, ",") != "h264,aac" {
			t.Fatalf("after publish %d the recording is %v %v, want about %v of h264,aac", i+1, d, codecs, want)
		}
		if m := openFLV(t, file).Metadata(); m == nil || len(m.Keyframes) < (i+1)*secs-1 {
			t.Fatalf("keyframe index after publish %d: %+v", i+1, m)
		}
	}
	if !strings.Contains(o.logs.String(), `"type":"live"`) {
		t.Fatal("the publish was not logged as ffmpeg's live publish")
	}

	p := ffmpegPublish(t, o.url("plain/cam"), 1)
	<-p.done
	if p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatal("ffmpeg publish to the app without recordPublishes failed")
	}
	if _, err := os.Stat(filepath.Join(o.srv.cfg.Data, "media", "plain")); !os.IsNotExist(err) {
		t.Fatalf("an app without recordPublishes recorded: %v", err)
	}
}
