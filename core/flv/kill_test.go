package flv

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The child process of TestKill9Recording records part of a file and waits to be killed.
func TestMain(m *testing.M) {
	if dst := os.Getenv("FLV_RECORDER_DST"); dst != "" {
		if err := recorderChild(os.Getenv("FLV_RECORDER_SRC"), dst); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// recorderChild records the first 60% of src's tags into dst, says so, and blocks (until its
// parent kills it, or closes its stdin).
func recorderChild(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	st, err := in.Stat()
	if err != nil {
		return err
	}
	r, err := NewReader(in, st.Size(), ReaderOptions{})
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w, err := NewWriter(out, Options{Sync: SyncKeyframe})
	if err != nil {
		return err
	}
	c := r.Tags(r.DataOffset())
	for c.Next() && c.Offset() < st.Size()*6/10 {
		tag := c.Tag()
		if err := w.WriteTag(tag.Type, tag.Timestamp, tag.Payload); err != nil {
			return err
		}
	}
	if c.Err() != nil {
		return c.Err()
	}
	fmt.Println("recording")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// kill -9 during a recording: ffprobe reads the file up to its last flushed tag.
func TestKill9Recording(t *testing.T) {
	src := sourceFLV(t)
	dst := filepath.Join(t.TempDir(), "killed.flv")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FLV_RECORDER_SRC="+src, "FLV_RECORDER_DST="+dst)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "recording\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the recorder was not killed")
	}
	checkCrashedFile(t, dst, 1.9) // 3 s given, flushed up to the keyframe at 2 s
}
