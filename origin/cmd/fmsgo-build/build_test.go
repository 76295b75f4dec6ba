package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/peertest"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// The token the test's config accepts (from a tokens file beside the config).
const gateToken = "s3cret-publish"

// TestOutsideModuleBuildsIntoOrigin is issue 11's acceptance of deliverable 5: the example
// module, copied outside the repository with its replace pointing at this checkout, builds
// into an origin with the command docs/plugins.md documents; the binary, started with a config
// selecting the module, refuses a publish without a valid token (ffmpeg fails; our client sees
// NetStream.Publish.BadName with the module's reason) and accepts one with it, directly and
// through an edge process. It runs the go command, so -short skips it; under CI=true a missing
// ffmpeg is a failure. The module's own tests run too, in the copy (the main module's go test
// ./... does not reach a nested module).
func TestOutsideModuleBuildsIntoOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds an origin with go run ./origin/cmd/fmsgo-build and runs it")
	}
	ff := requireTool(t, "ffmpeg")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	mod := copyOutside(t, filepath.Join(root, "samples", "plugins", "tokengate"), filepath.Join(work, "tokengate"), root)
	originBin, edgeBin := filepath.Join(work, "bin", "origin"), filepath.Join(work, "bin", "edge")

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(3)
	go func() { // the documented command, run in the checkout
		defer wg.Done()
		errs[0] = goRun(root, "run", "./origin/cmd/fmsgo-build", "--with", "example.com/tokengate="+mod, "-o", originBin)
	}()
	go func() {
		defer wg.Done()
		errs[1] = goRun(root, "build", "-o", edgeBin, "./edge/cmd/edge")
	}()
	go func() { // the module's own tests, in its own module, so that they cannot rot unseen
		defer wg.Done()
		errs[2] = goRun(mod, "test", "-count=1", "./...")
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("fmsgo-build of the origin with example.com/tokengate (with the edge's build and the module's tests beside it): %v", time.Since(start).Round(time.Millisecond))

	if out, err := exec.Command(originBin, "-modules").CombinedOutput(); err != nil || !strings.Contains(string(out), "auth.tokengate\tauth,events\n") {
		t.Fatalf("origin -modules: %v\n%s", err, out)
	}
	o := startServer(t, "origin", originBin, []string{"rtmp", "trunk"}, "-config", writeConfig(t, work), "-log-format", "json")
	e := startServer(t, "edge", edgeBin, []string{"rtmp"}, "-rtmp", "127.0.0.1:0", "-origins", o.addrs["trunk"],
		"-http", "", "-log-format", "json")

	t.Run("direct", func(t *testing.T) { checkGate(t, ff, o.addrs["rtmp"], "direct") })
	t.Run("edge", func(t *testing.T) { checkGate(t, ff, e.addrs["rtmp"], "edge") })
	// the module's events sink ran in the binary too: it logs the end of each accepted stream
	o.logs.await(t, 10*time.Second, `"stream":"edge-ours".*"message":"stream unpublished"|"message":"stream unpublished".*"stream":"edge-ours"`)
}

// checkGate publishes to rtmp://addr/live without a token, with a wrong one and with the
// right one, with ffmpeg and with our client.
func checkGate(t *testing.T, ff, addr, prefix string) {
	url := "rtmp://" + addr + "/live/"
	if out, err := ffmpegPublish(ff, url+prefix+"-ffmpeg"); err == nil || !strings.Contains(out, "tokengate: publish needs ?token=") {
		t.Fatalf("ffmpeg without a token: %v, want a failure with the module's reason:\n%s", err, out)
	}
	if out, err := ffmpegPublish(ff, url+prefix+"-ffmpeg?token="+gateToken); err != nil {
		t.Fatalf("ffmpeg with the token: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, "rtmp://"+addr+"/live", rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ name, reason string }{
		{prefix + "-ours", "tokengate: publish needs ?token="},
		{prefix + "-ours?token=wrong", "tokengate: token not accepted for publish"},
		{prefix + "-ours?token=" + gateToken, ""},
	} {
		sid, err := c.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Publish(ctx, sid, tc.name, "live")
		var se *rtmpclient.StatusError
		switch {
		case tc.reason == "" && err != nil:
			t.Fatalf("publish %s: %v", tc.name, err)
		case tc.reason == "":
		case !errors.As(err, &se) || se.Code() != "NetStream.Publish.BadName" || se.Description() != tc.reason:
			t.Fatalf("publish %s: %v, want NetStream.Publish.BadName %q", tc.name, err, tc.reason)
		}
	}
}

// ffmpegPublish publishes one second of H.264 as fast as ffmpeg can.
func ffmpegPublish(ff, url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ff, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "flv", url).CombinedOutput()
	return string(out), err
}

// copyOutside copies the example module to dst, outside the repository, with its replace
// pointing at the checkout root, as a module of one's own would have it.
func copyOutside(t *testing.T, src, dst, root string) string {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	gomod := filepath.Join(dst, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^replace github.com/fmsgo/fmsgo => .*$`)
	if !re.Match(b) {
		t.Fatalf("%s has no replace of fmsgo:\n%s", gomod, b)
	}
	b = re.ReplaceAll(b, []byte("replace github.com/fmsgo/fmsgo => "+root))
	if err := os.WriteFile(gomod, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeConfig writes the origin's config: loopback listeners, a live app, and the module
// selected with a tokens file relative to the config's folder.
func writeConfig(t *testing.T, work string) string {
	t.Helper()
	apps := filepath.Join(work, "apps")
	files := map[string]string{
		filepath.Join(apps, "live", "main.js"): "",
		filepath.Join(work, "tokens.txt"):      "# publishers\n" + gateToken + "\n",
		filepath.Join(work, "origin.toml"): fmt.Sprintf(`rtmp = "127.0.0.1:0"
trunk = "127.0.0.1:0"
http = ""
apps = %q
data = %q
scriptlib = ""

[modules."auth.tokengate"]
tokens_file = "tokens.txt"
`, apps, filepath.Join(work, "data")),
	}
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(work, "origin.toml")
}

// goRun runs the go command in dir with go.mod updates allowed; its output is the error.
func goRun(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	flags, _ := exec.Command("go", "env", "GOFLAGS").Output()
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(string(flags))+" -mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// server is a running server process.
type server struct {
	addrs map[string]string // protocol → listening address
	logs  *logBuffer
}

// startServer runs a server binary and waits for its "listening" line of each protocol. It is
// killed at cleanup, and its logs shown if the test failed.
func startServer(t *testing.T, name, bin string, protos []string, args ...string) server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := server{logs: newLogBuffer()}
	ready, done := make(chan map[string]string, 1), make(chan struct{})
	go func() {
		scanListening(out, s.logs, protos, ready)
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, lastLines(s.logs.String(), 30))
		}
	})
	select {
	case s.addrs = <-ready:
		return s
	case <-done:
		t.Fatalf("%s exited:\n%s", name, s.logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not listen:\n%s", name, s.logs.String())
	}
	return s
}

// scanListening copies the JSON log lines into logs and sends the address of each protocol
// once all of them were logged as listening.
func scanListening(r io.Reader, logs *logBuffer, protos []string, ready chan<- map[string]string) {
	addrs := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		logs.add(sc.Text())
		var line struct{ Message, Proto, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Message != "listening" || addrs == nil {
			continue
		}
		addrs[line.Proto] = line.Addr
		all := true
		for _, p := range protos {
			all = all && addrs[p] != ""
		}
		if all {
			ready <- addrs
			addrs = nil
		}
	}
}

// logBuffer holds a process's log lines; await waits for a line matching a pattern.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each line
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

func (b *logBuffer) await(t *testing.T, bound time.Duration, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(bound)
	for seen := 0; ; {
		b.mu.Lock()
		lines, changed := b.lines, b.changed
		b.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if re.MatchString(lines[seen]) {
				return
			}
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line matching %s within %v", pattern, bound)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// requireTool finds a real client; missing it is a failure under CI=true, a skip otherwise.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return peertest.RequireTool(t, name)
}
