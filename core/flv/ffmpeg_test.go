package flv

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/peertest"
)

// Tests against real tools: ffmpeg makes an H.264/AAC FLV, our Reader reads it tag by tag into
// our Writer, and ffprobe/ffmpeg judge the recording.

// requireTool finds a real client; missing it is a failure under CI=true, a skip otherwise.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return peertest.RequireTool(t, name)
}

var source struct {
	once sync.Once
	path string
	err  error
}

// sourceFLV is a 5 s H.264 (25 fps, a keyframe a second, B-frames) and AAC file made by ffmpeg
// once per test binary.
func sourceFLV(t *testing.T) string {
	t.Helper()
	requireTool(t, "ffmpeg")
	requireTool(t, "ffprobe")
	source.once.Do(func() {
		dir, err := os.MkdirTemp("", "flvtest")
		if err != nil {
			source.err = err
			return
		}
		source.path = filepath.Join(dir, "source.flv")
		out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-y",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
			"-c:v", "libx264", "-g", "25", "-sc_threshold", "0", "-c:a", "aac", "-t", "5",
			"-f", "flv", source.path).CombinedOutput()
		if err != nil {
			source.err = errors.New(string(out))
		}
	})
	if source.err != nil {
		t.Fatalf("ffmpeg: %v", source.err)
	}
	return source.path
}

func sourceTags(t *testing.T) []Tag {
	t.Helper()
	b, err := os.ReadFile(sourceFLV(t))
	if err != nil {
		t.Fatal(err)
	}
	return readTags(t, openBytes(t, b))
}

// record writes tags into w as a live stream's messages.
func record(t *testing.T, w *Writer, tags []Tag) {
	t.Helper()
	for _, tag := range tags {
		if err := w.WriteTag(tag.Type, tag.Timestamp, tag.Payload); err != nil {
			t.Fatalf("WriteTag at %d: %v", tag.Offset, err)
		}
	}
}

func createFile(t *testing.T, name string) (*os.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

func run(t *testing.T, name string, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

type probe struct {
	Format struct {
		Duration string            `json:"duration"`
		Tags     map[string]string `json:"tags"`
	} `json:"format"`
	Streams []struct {
		CodecName     string `json:"codec_name"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
}

// ffprobe runs ffprobe with warnings on: a recording must not make it complain (an index it
// finds invalid, a metadata it cannot parse).
func ffprobe(t *testing.T, path string, extra ...string) probe {
	t.Helper()
	args := append([]string{"-v", "warning", "-of", "json", "-show_format", "-show_streams"}, extra...)
	out, stderr := run(t, "ffprobe", append(args, path)...)
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("ffprobe warns about %s:\n%s", filepath.Base(path), stderr)
	}
	var p probe
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

func (p probe) duration(t *testing.T) float64 {
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("duration %q", p.Format.Duration)
	}
	return d
}

func (p probe) packets(t *testing.T) int {
	n := 0
	for _, s := range p.Streams {
		k, err := strconv.Atoi(s.NbReadPackets)
		if err != nil {
			t.Fatalf("nb_read_packets %q", s.NbReadPackets)
		}
		n += k
	}
	return n
}

// videoKeyframes counts the keyframes ffprobe finds by reading every packet.
func videoKeyframes(t *testing.T, path string) int {
	out, _ := run(t, "ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=flags", "-of", "csv=p=0", path)
	return strings.Count(out, "K")
}

// firstFrameAfterSeek is the first video frame ffprobe decodes after seeking to at seconds.
func firstFrameAfterSeek(t *testing.T, path string, at float64) (key bool, pts float64) {
	out, _ := run(t, "ffprobe", "-v", "error", "-read_intervals", strconv.FormatFloat(at, 'f', 1, 64)+"%+#1",
		"-select_streams", "v", "-show_entries", "frame=key_frame,pts_time", "-of", "csv=p=0", path)
	k, p, _ := strings.Cut(strings.TrimSpace(out), ",")
	pts, err := strconv.ParseFloat(p, 64)
	if err != nil {
		t.Fatalf("ffprobe frame %q", out)
	}
	return k == "1", pts
}

// readFile opens a recording with our Reader.
func readFile(t *testing.T, path string) *Reader {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return openBytes(t, b)
}

func TestFFmpegStreamRecorded(t *testing.T) {
	tags := sourceTags(t)
	f, path := createFile(t, "out.flv")
	w, err := NewWriter(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	record(t, w, tags)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, path, "-show_entries", "format_tags")
	if d := p.duration(t); math.Abs(d-5) > 0.1 {
		t.Errorf("ffprobe: duration %.3f s, want 5 ± 0.1", d)
	}
	if len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[1].CodecName != "aac" {
		t.Errorf("ffprobe: streams %+v", p.Streams)
	}
	if p.Format.Tags["metadatacreator"] != creator || p.Format.Tags["encoder"] == "" {
		t.Errorf("ffprobe: format tags %v", p.Format.Tags)
	}
	keys := videoKeyframes(t, path)
	r := readFile(t, path)
	if got := len(r.Metadata().Keyframes); keys != 5 || got != keys {
		t.Errorf("index of %d keyframes; ffprobe counts %d, want 5", got, keys)
	}
	for _, at := range []float64{1, 3, 4.5} {
		key, pts := firstFrameAfterSeek(t, path, at)
		if !key || pts < math.Floor(at) || pts > math.Floor(at)+0.2 {
			t.Errorf("seek to %v s: first frame key=%v at %.3f s", at, key, pts)
		}
	}
	_, stderr := run(t, "ffmpeg", "-v", "error", "-ss", "3", "-i", path, "-frames:v", "1", "-f", "null", "-")
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("ffmpeg -ss 3: %s", stderr)
	}
}

// A recording abandoned without Close, as a killed process leaves it: ffprobe reads every
// packet the Writer had written.
func TestFFmpegReadsAbandonedRecording(t *testing.T) {
	tags := sourceTags(t)
	f, path := createFile(t, "crash.flv")
	w, err := NewWriter(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	record(t, w, tags[:len(tags)/2]) // then nothing: no Close, no flush
	checkCrashedFile(t, path, 1.9)   // 2.5 s given, flushed up to the keyframe at 2 s
}

// checkCrashedFile: ffprobe reads the file without complaint, as many packets as it holds
// whole frames, and it lasts about what was flushed.
func checkCrashedFile(t *testing.T, path string, minSeconds float64) {
	t.Helper()
	var frames int
	var last uint32
	for _, tag := range readTags(t, readFile(t, path)) {
		if (tag.Type == TagAudio || tag.Type == TagVideo) && !tag.SeqHeader {
			frames++
			last = tag.Timestamp
		}
	}
	p := ffprobe(t, path, "-count_packets")
	if got := p.packets(t); got != frames || frames == 0 {
		t.Errorf("ffprobe read %d packets, the file holds %d frames", got, frames)
	}
	if d, l := p.duration(t), float64(last)/1000; l < minSeconds || math.Abs(d-l) > 0.1 {
		t.Errorf("ffprobe: duration %.3f s of a file whose last frame is at %d ms", d, last)
	}
}

// append and a seek into the appended part, read by ffmpeg.
func TestFFmpegAppend(t *testing.T) {
	tags := sourceTags(t)
	f, path := createFile(t, "append.flv")
	w, err := NewWriter(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	record(t, w, tags)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	part := w.Duration().Seconds() // ffmpeg's AAC ends 95 ms after 5 s
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	w, err = OpenAppend(f, st.Size(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	record(t, w, tags) // the same stream published again: timestamps from 0
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, path)
	if d := p.duration(t); math.Abs(d-2*part) > 0.1 || math.Abs(part-5) > 0.1 {
		t.Errorf("ffprobe: duration %.3f s, want twice %.3f ± 0.1", d, part)
	}
	keys := videoKeyframes(t, path)
	if got := len(readFile(t, path).Metadata().Keyframes); keys != 10 || got != keys {
		t.Errorf("index of %d keyframes; ffprobe counts %d, want 10", got, keys)
	}
	if key, pts := firstFrameAfterSeek(t, path, 7); !key || pts < 7 || pts > 7.3 {
		t.Errorf("seek to 7 s: first frame key=%v at %.3f s", key, pts)
	}
	_, stderr := run(t, "ffmpeg", "-v", "error", "-i", path, "-f", "null", "-")
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("ffmpeg decoding the appended file: %s", stderr)
	}
}
