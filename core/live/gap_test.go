package live

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestMarkGapDropsToNextKeyframe: after a gap no player gets video before the next keyframe
// (audio goes on), and a joiner in the meantime gets the sequence headers but no broken GOP.
func TestMarkGapDropsToNextKeyframe(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := NewHub(Config{Now: c.now, JoinVideoFrames: 1}, zerolog.Nop())
	defer h.Close()
	pb, err := h.Publish("s", &fakePub{})
	if err != nil {
		t.Fatal(err)
	}
	player := &fakeSub{}
	if _, err := h.Subscribe("s", player); err != nil {
		t.Fatal(err)
	}
	write(pb, 9, 0, avcSeq)
	write(pb, 9, 0, key(1))
	write(pb, 9, 40, inter(2))
	pb.MarkGap() // the messages after 2 never arrived
	write(pb, 9, 120, inter(3))
	write(pb, 8, 130, audio(4))
	joiner := &fakeSub{}
	if _, err := h.Subscribe("s", joiner); err != nil {
		t.Fatal(err)
	}
	write(pb, 9, 160, inter(5))
	write(pb, 9, 200, key(6))
	write(pb, 9, 240, inter(7))
	want := []byte{1, 1, 2, 4, 6, 7} // the first 1: the sequence header's last byte
	if got := tags(player.got); string(got) != string(want) {
		t.Fatalf("player got %v, want %v", got, want)
	}
	if got := tags(joiner.got); string(got) != string([]byte{1, 6, 7}) {
		t.Fatalf("joiner got %v, want the sequence header then the GOP of 6", got)
	}
	late := &fakeSub{}
	if _, err := h.Subscribe("s", late); err != nil {
		t.Fatal(err)
	}
	if got := tags(late.got); string(got) != string([]byte{1, 6, 7}) {
		t.Fatalf("a joiner after the keyframe got %v", got)
	}
	pb.Close()
}

// TestMarkGapWithoutVideoIsIgnored: an audio-only stream has no GOP to break.
func TestMarkGapWithoutVideoIsIgnored(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	player := &fakeSub{}
	h.Subscribe("s", player)
	write(pb, 8, 0, audio(1))
	pb.MarkGap()
	write(pb, 8, 20, audio(2))
	if got := tags(player.got); string(got) != string([]byte{1, 2}) {
		t.Fatalf("player got %v", got)
	}
	pb.Close()
	pb.MarkGap() // after close: a no-op
}

func tags(rs []rec) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r.first)
	}
	return b
}
