package live

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// publishFrames writes n video frames 40 ms apart (a keyframe every gop frames, tagged with the
// frame number modulo 256) after the codec headers, with an audio frame after each.
func publishFrames(pb *Publication, n, gop int) {
	write(pb, 9, 0, avcSeq)
	write(pb, 8, 0, aacSeq)
	for i := range n {
		ts := uint32(i * 40)
		if i%gop == 0 {
			write(pb, 9, ts, key(byte(i)))
		} else {
			write(pb, 9, ts, inter(byte(i)))
		}
		write(pb, 8, ts+5, audio(byte(i)))
	}
}

// joinBurst subscribes to a stream published with publishFrames and returns the video frames the
// subscriber got at once.
func joinBurst(t *testing.T, cfg Config, n, gop int) []rec {
	t.Helper()
	h := NewHub(cfg, zerolog.Nop())
	defer h.Close()
	pb, err := h.Publish("s", &fakePub{})
	if err != nil {
		t.Fatal(err)
	}
	publishFrames(pb, n, gop)
	sub := &fakeSub{}
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	var video []rec
	for _, r := range sub.got {
		if r.typeID == 9 && !r.info.SeqHeader {
			video = append(video, r)
		}
	}
	if len(video) == 0 || !video[0].info.Keyframe {
		t.Fatalf("burst does not start on a keyframe: %+v", video)
	}
	return video
}

// TestJoinBurstHasProbeFrames: with 1 s GOPs (25 frames) a joiner gets at least 41 video frames
// at once (what ffmpeg's probe reads before its first frame), from the newest keyframe that gives
// that many, not from the last keyframe only.
func TestJoinBurstHasProbeFrames(t *testing.T) {
	t.Parallel()
	for _, n := range []int{60, 100, 110, 126} {
		video := joinBurst(t, Config{}, n, 25)
		lastKey := (n - 1) / 25 * 25
		want := lastKey // the newest keyframe followed by >= 41 frames
		for n-want < 41 && want > 0 {
			want -= 25
		}
		if got := int(video[0].first); got != want%256 {
			t.Fatalf("%d frames: burst starts at frame %d, want %d", n, got, want)
		}
		if len(video) != n-want || (want > 0 && len(video) < 41) {
			t.Fatalf("%d frames: burst of %d video frames, want %d", n, len(video), n-want)
		}
	}
}

// TestJoinBurstWithinMaxBehind: an older GOP is kept only while its keyframe is within
// JoinMaxBehind of the live edge: with 4 s GOPs (100 frames) a joiner 1 s after a keyframe gets
// the last GOP only (25 frames), as before.
func TestJoinBurstWithinMaxBehind(t *testing.T) {
	t.Parallel()
	video := joinBurst(t, Config{}, 125, 100)
	if video[0].first != 100 || len(video) != 25 {
		t.Fatalf("burst starts at frame %d with %d frames, want the last GOP (100, 25 frames)", video[0].first, len(video))
	}
	video = joinBurst(t, Config{JoinMaxBehind: 10 * time.Second}, 125, 100)
	if video[0].first != 0 || len(video) != 125 {
		t.Fatalf("with 10 s allowed: burst starts at frame %d with %d frames, want 0 and 125", video[0].first, len(video))
	}
}

// TestJoinBurstOneFrameIsLastGOP: JoinVideoFrames 1 gives a joiner the last GOP only.
func TestJoinBurstOneFrameIsLastGOP(t *testing.T) {
	t.Parallel()
	video := joinBurst(t, Config{JoinVideoFrames: 1}, 110, 25)
	if video[0].first != 100 || len(video) != 10 {
		t.Fatalf("burst starts at frame %d with %d frames, want 100 and 10", video[0].first, len(video))
	}
}

// TestJoinBurstByteCap: the older GOPs go first when the cache passes GOPCacheMaxBytes; a GOP
// alone past it is dropped until the next keyframe.
func TestJoinBurstByteCap(t *testing.T) {
	t.Parallel()
	// each video frame is 6 bytes, each audio frame 3: a 25-frame GOP is 225 bytes
	video := joinBurst(t, Config{GOPCacheMaxBytes: 300}, 60, 25)
	if video[0].first != 50 || len(video) != 10 {
		t.Fatalf("burst starts at frame %d with %d frames, want the last GOP (50, 10 frames)", video[0].first, len(video))
	}
	h := NewHub(Config{GOPCacheMaxBytes: 100}, zerolog.Nop())
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	publishFrames(pb, 40, 25) // the GOP at 25 passes 100 bytes after 12 frames
	sub := &fakeSub{}
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	for _, r := range sub.got {
		if r.typeID == 9 && !r.info.SeqHeader {
			t.Fatalf("a GOP past the cap was sent: %+v", r)
		}
	}
}
