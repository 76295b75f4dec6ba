package peertest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTool finds a real client or tool (ffmpeg, ffprobe, rtmpdump, go) on the PATH. Missing,
// it is a failure under CI=true, where every real client must be there, and a skip otherwise.
func RequireTool(t testing.TB, name string) string {
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
