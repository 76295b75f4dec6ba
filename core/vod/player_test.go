package vod

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// kinds summarises a sequence for failure messages and order checks.
func kinds(got []delivered) string {
	var b strings.Builder
	for _, d := range got {
		switch d.kind {
		case "status":
			b.WriteString(strings.TrimPrefix(d.code, "NetStream.") + " ")
		case "event":
			b.WriteString([]string{"Begin", "EOF", "Dry", "Buf", "Recorded"}[d.event] + " ")
		case "media":
			switch {
			case d.typeID == 18 && bytes.Contains(d.payload, []byte("onMetaData")):
				b.WriteString("meta ")
			case d.typeID == 18:
				b.WriteString("data ")
			case d.seq:
				b.WriteString("seq ")
			}
		}
	}
	return b.String()
}

// TestPlayWholeFile: metadata at 0, the sequence headers, every frame in file order from the
// first keyframe, then onPlayStatus Complete (duration and bytes), StreamEOF and Play.Stop.
func TestPlayWholeFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 4, 25, 500)
	lib := NewLibrary(fastConfig())
	p, s := play(t, lib, dir, "a.flv", Request{Len: -1})
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	if k := kinds(got); k != "meta seq seq data EOF Play.Stop " {
		t.Fatalf("sequence %q", k)
	}
	frames := mediaOf(got)
	if len(frames) != 200 || !frames[0].key || frames[0].typeID != 9 || frames[0].ts != 0 {
		t.Fatalf("%d frames, first %+v", len(frames), frames[0])
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].ts < frames[i-1].ts {
			t.Fatalf("frame %d goes back: %d after %d", i, frames[i].ts, frames[i-1].ts)
		}
	}
	complete := got[len(got)-3]
	v := decodeData(t, complete.payload)
	info, _ := v[1].(*amf.Object)
	if v[0] != "onPlayStatus" || info.String("code") != "NetStream.Play.Complete" {
		t.Fatalf("complete message %v", v)
	}
	if d, _ := info.Number("duration"); d < 3.9 || d > 4.1 {
		t.Fatalf("duration %v", d)
	}
	if b, _ := info.Number("bytes"); b <= 0 || uint64(b) > p.BytesOut() {
		t.Fatalf("bytes %v (out %d)", b, p.BytesOut())
	}
	if !p.Ended() {
		t.Fatal("not ended")
	}
}

func decodeData(t *testing.T, payload []byte) []any {
	t.Helper()
	var d amf.Decoder
	m, err := rtmpmsg.DecodeData(rtmpmsg.TypeDataAMF0, payload, &d)
	if err != nil {
		t.Fatal(err)
	}
	return append([]any{m.Name}, m.Args...)
}

// TestStartAndLen: start 3.5 s begins at the keyframe of 3 s, with the headers at 3 s; len 2 s
// plays up to 5 s and then ends.
func TestStartAndLen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 8, 25, 300)
	p, s := play(t, NewLibrary(fastConfig()), dir, "a.flv", Request{Start: 3500, Len: 2000})
	if p.StartTimestamp() != 3000 {
		t.Fatalf("starts at %d", p.StartTimestamp())
	}
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	frames := mediaOf(got)
	if first := frames[0]; !first.key || first.ts != 3000 {
		t.Fatalf("first frame %+v", first)
	}
	if last := frames[len(frames)-1]; last.ts > 5000 || last.ts < 4900 {
		t.Fatalf("last frame at %d", last.ts)
	}
	if got[1].ts != 3000 || !got[1].seq {
		t.Fatalf("sequence header at %d", got[1].ts)
	}
}

// TestRebase: a rebased play from 3.5 s sends its keyframe of 3 s at 0, and a seek then sends
// the file's own timestamps.
func TestRebase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 8, 25, 300)
	cfg := fastConfig()
	cfg.Lead = 500 * time.Millisecond
	p, s := play(t, NewLibrary(cfg), dir, "a.flv", Request{Start: 3500, Len: -1, Rebase: true})
	got := s.waitFor(t, 10*time.Second, "frames", func(g []delivered) bool { return len(mediaOf(g)) > 2 })
	if f := mediaOf(got)[0]; !f.key || f.ts != 0 || got[1].ts != 0 {
		t.Fatalf("first frame %+v, headers at %d", f, got[1].ts)
	}
	p.Seek(6000, status("NetStream.Seek.Notify"), status("NetStream.Play.Start"))
	n := len(got)
	s.waitFor(t, 10*time.Second, "the seek's keyframe", func(g []delivered) bool {
		for _, d := range mediaOf(g[n:]) {
			if d.key && d.ts == 6000 {
				return true
			}
		}
		return false
	})
}

// TestLenZeroIsOneFrame: len 0 sends the keyframe at start and ends.
func TestLenZeroIsOneFrame(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 4, 25, 300)
	_, s := play(t, NewLibrary(fastConfig()), dir, "a.flv", Request{Start: 2000, Len: 0})
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	frames := mediaOf(got)
	if len(frames) != 1 || !frames[0].key || frames[0].ts != 2000 {
		t.Fatalf("frames %+v", frames)
	}
}

// TestSeek: a seek in the middle sends StreamEOF, StreamIsRecorded, StreamBegin, Seek.Notify,
// Play.Start, the metadata and headers at the keyframe, then media from it; after the end a
// seek plays again.
func TestSeek(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 6, 25, 300)
	cfg := fastConfig()
	cfg.Lead = 500 * time.Millisecond // the seek comes long before the end
	p, s := play(t, NewLibrary(cfg), dir, "a.flv", Request{Len: -1})
	s.waitFor(t, 5*time.Second, "first frames", func(g []delivered) bool { return len(mediaOf(g)) > 0 })
	p.Seek(4200, status("NetStream.Seek.Notify"), status("NetStream.Play.Start"))
	got := s.waitFor(t, 10*time.Second, "Play.Start", hasStatus("NetStream.Play.Start"))
	at := 0
	for i, d := range got {
		if d.code == "NetStream.Seek.Notify" {
			at = i - 3
		}
	}
	if k := kinds(got[at : at+5]); k != "EOF Recorded Begin Seek.Notify Play.Start " {
		t.Fatalf("seek sequence %q", k)
	}
	got = s.waitFor(t, 10*time.Second, "a frame after the seek", func(g []delivered) bool { return len(mediaOf(g[at:])) > 0 })
	if k := kinds(got[at+5 : at+8]); k != "meta seq seq " {
		t.Fatalf("after the seek: %q", k)
	}
	if f := mediaOf(got[at:])[0]; !f.key || f.ts != 4000 {
		t.Fatalf("first frame after the seek %+v", f)
	}
	got = s.waitFor(t, 20*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	n := len(got)
	p.Seek(1000, status("NetStream.Seek.Notify"), status("NetStream.Play.Start"))
	got = s.waitFor(t, 10*time.Second, "replay", func(g []delivered) bool { return len(mediaOf(g[n:])) > 0 })
	if f := mediaOf(got[n:])[0]; f.ts != 1000 || p.Ended() {
		t.Fatalf("replay starts with %+v (ended %v)", f, p.Ended())
	}
}

// TestPacedAtRealTime: a 1.5 s file with a 0.3 s lead takes at least 1.1 s to send, and its
// first frames go at once.
func TestPacedAtRealTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 2, 25, 300)
	cfg := Config{Lead: 300 * time.Millisecond, Tick: 20 * time.Millisecond}
	start := time.Now()
	_, s := play(t, NewLibrary(cfg), dir, "a.flv", Request{Len: 1500})
	s.waitFor(t, 2*time.Second, "the burst", func(g []delivered) bool { return len(mediaOf(g)) >= 10 })
	s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	if d := time.Since(start); d < 1100*time.Millisecond {
		t.Fatalf("1.5 s of media sent in %v: not paced", d)
	}
}

// TestPause: nothing is sent while paused; unpaused, the play goes on from where it was.
func TestPause(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 3, 25, 300)
	cfg := Config{Lead: 200 * time.Millisecond, Tick: 10 * time.Millisecond}
	p, s := play(t, NewLibrary(cfg), dir, "a.flv", Request{Len: -1})
	s.waitFor(t, 5*time.Second, "frames", func(g []delivered) bool { return len(mediaOf(g)) > 5 })
	p.Pause(true)
	waitTaken(t, p) // from here the player sends nothing more
	n := len(mediaOf(s.snapshot()))
	time.Sleep(400 * time.Millisecond) // twice the lead: an unpaused player would send meanwhile
	if m := len(mediaOf(s.snapshot())); m != n {
		t.Fatalf("%d frames sent while paused", m-n)
	}
	p.Pause(false)
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	frames := mediaOf(got)
	if len(frames) != 150 {
		t.Fatalf("%d frames after unpausing, want all 150", len(frames))
	}
}

// waitTaken waits until the player took its pending commands: it applies them before it sends
// anything more.
func waitTaken(t *testing.T, p *Player) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.box.mu.Lock()
		pending := p.box.m.pause != nil
		p.box.mu.Unlock()
		if !pending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the player did not take its commands")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReceiveVideo: with video off only audio comes; back on, video resumes at a keyframe.
func TestReceiveVideo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 4, 25, 300)
	cfg := Config{Lead: 200 * time.Millisecond, Tick: 10 * time.Millisecond}
	p, s := play(t, NewLibrary(cfg), dir, "a.flv", Request{Len: -1})
	p.ReceiveVideo(false)
	s.waitFor(t, 5*time.Second, "audio", func(g []delivered) bool { return len(mediaOf(g)) > 30 })
	p.ReceiveVideo(true)
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	var video []delivered
	for _, d := range mediaOf(got) {
		if d.typeID == 9 {
			video = append(video, d)
		}
	}
	for _, v := range video {
		if v.ts <= 200 {
			continue // the start's burst may precede receiveVideo(false)
		}
		if !v.key || v.ts < 1000 {
			t.Fatalf("video after receiveVideo(true) starts with %+v", v)
		}
		return
	}
	t.Fatal("no video after receiveVideo(true)")
}

// TestSlowClientLosesNothing: a sink that refuses every third message gets every frame, in
// order, and the end.
func TestSlowClientLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 2, 25, 300)
	cfg := fastConfig()
	cfg.Retry = time.Millisecond
	lib := NewLibrary(cfg)
	f, err := lib.Open(context.Background(), dirStorage(dir), "a.flv")
	must(t, err)
	p, err := NewPlayer(f, Request{Len: -1, Stop: stopStatus()})
	must(t, err)
	s := newSink()
	s.refuse = 3
	p.Start(s)
	defer p.Stop()
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	if k := kinds(got); k != "meta seq seq data EOF Play.Stop " {
		t.Fatalf("sequence %q", k)
	}
	if n := len(mediaOf(got)); n != 100 {
		t.Fatalf("%d frames of 100", n)
	}
}

// TestSharedReads: players of one file read each block once between them, and every block is
// released when the last one stops.
func TestSharedReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 4, 25, 1000)
	lib := NewLibrary(Config{Lead: time.Hour, BlockBytes: 16 << 10, CachedBlocks: 64})
	var players []*Player
	var sinks []*sink
	for range 8 {
		p, s := play(t, lib, dir, "a.flv", Request{Len: -1})
		players, sinks = append(players, p), append(sinks, s)
	}
	for _, s := range sinks {
		s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	}
	f := players[0].f
	loads, hits := f.Stats()
	blocks := f.size/(16<<10) + 1
	if int64(loads) > blocks+1 || hits < 7*uint64(loads)-8 {
		t.Fatalf("%d loads, %d hits for %d blocks and 8 players", loads, hits, blocks)
	}
	if lib.Len() != 1 {
		t.Fatalf("%d files open", lib.Len())
	}
	for _, p := range players {
		p.Stop()
	}
	if lib.Len() != 0 || len(f.blocks) != 0 || f.lru.Len() != 0 {
		t.Fatalf("after the last stop: %d files, %d blocks", lib.Len(), len(f.blocks))
	}
	t.Logf("8 players, %d blocks: %d loads, %d hits", blocks, loads, hits)
}

// TestBoundedCache: a file's cache keeps at most CachedBlocks blocks after its players moved on.
func TestBoundedCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 4, 25, 1000)
	lib := NewLibrary(Config{Lead: time.Hour, BlockBytes: 8 << 10, CachedBlocks: 3})
	p, s := play(t, lib, dir, "a.flv", Request{Len: -1})
	s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	f := p.f
	f.mu.Lock()
	n, cached := len(f.blocks), f.lru.Len()
	f.mu.Unlock()
	if n > 3 || cached > 3 {
		t.Fatalf("%d blocks kept, %d cached", n, cached)
	}
}

// TestOpenErrors: a missing file, a file that is not FLV, and a name that is not .flv.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "junk.flv"), []byte("not a video file at all"), 0o644))
	lib := NewLibrary(Config{})
	ctx := context.Background()
	if _, err := lib.Open(ctx, dirStorage(dir), "none.flv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := lib.Open(ctx, dirStorage(dir), "junk.flv"); !errors.Is(err, ErrFormat) {
		t.Fatalf("junk: %v", err)
	}
	if _, err := lib.Open(ctx, dirStorage(dir), "a.mp4"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("mp4: %v", err)
	}
}

// TestChangedFileReopened: a file rewritten under the same name is opened anew; the old one
// stays with its player.
func TestChangedFileReopened(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFLV(t, dir, "a.flv", 1, 25, 300)
	lib := NewLibrary(Config{})
	ctx := context.Background()
	f1, err := lib.Open(ctx, dirStorage(dir), "a.flv")
	must(t, err)
	defer f1.Close()
	writeFLV(t, dir, "a.flv", 2, 25, 300)
	f2, err := lib.Open(ctx, dirStorage(dir), "a.flv")
	must(t, err)
	defer f2.Close()
	if f1 == f2 || f2.Duration() < 1900*time.Millisecond {
		t.Fatalf("same file %v, new duration %v", f1 == f2, f2.Duration())
	}
	f3, err := lib.Open(ctx, dirStorage(dir), "a.flv")
	must(t, err)
	defer f3.Close()
	if f3 != f2 {
		t.Fatal("an unchanged file is not shared")
	}
}

// TestTruncatedFilePlaysUpToTheCut: a recording cut inside a tag plays its whole tags and ends.
func TestTruncatedFilePlaysUpToTheCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFLV(t, dir, "a.flv", 2, 25, 300)
	st, err := os.Stat(path)
	must(t, err)
	must(t, os.Truncate(path, st.Size()-100))
	_, s := play(t, NewLibrary(fastConfig()), dir, "a.flv", Request{Len: -1})
	got := s.waitFor(t, 10*time.Second, "Play.Stop", hasStatus("NetStream.Play.Stop"))
	if n := len(mediaOf(got)); n < 95 || n >= 100 {
		t.Fatalf("%d frames of a cut file", n)
	}
}
