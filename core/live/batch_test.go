package live

import (
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// batchSub is a BatchSubscriber recording, per message, whether it came with the producer's
// batch (to be written later) or alone (to be written at once).
type batchSub struct {
	fakeSub
	batched []bool
}

func (s *batchSub) DeliverBatch(p *media.Packet, ts uint32, b *media.FlushBatch) bool {
	s.batched = append(s.batched, b != nil)
	return s.Deliver(p, ts)
}

func (s *batchSub) Deliver(p *media.Packet, ts uint32) bool {
	if len(s.batched) < len(s.got)+1 {
		s.batched = append(s.batched, false)
	}
	return s.fakeSub.Deliver(p, ts)
}

// TestFirstKeyframeSkipsTheBatch: a player waiting for its first keyframe gets it written at
// once (startup time), everything after it rides the producer's batch (fewer writes), with
// JoinVideoFrames 1 (TestJoinFramesSkipTheBatch: the default).
func TestFirstKeyframeSkipsTheBatch(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := NewHub(Config{Now: c.now, JoinVideoFrames: 1}, zerolog.Nop())
	defer h.Close()
	sub := &batchSub{}
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	pb, _ := h.Publish("s", &fakePub{})
	var fb media.FlushBatch
	for i, b := range [][]byte{inter(1), avcSeq, key(2), inter(3), audio(4), key(5)} {
		typeID := uint8(9)
		if b[0] == 0xAF {
			typeID = 8
		}
		pb.WriteBatch(media.NewPacket(typeID, uint32(i*40), b), &fb)
	}
	want := []bool{true, false, true, true, true} // seq header, key 2 alone, then batched
	if len(sub.batched) != len(want) {
		t.Fatalf("delivered %d messages (%v), want %d", len(sub.batched), sub.batched, len(want))
	}
	for i := range want {
		if sub.batched[i] != want[i] {
			t.Fatalf("batched %v, want %v", sub.batched, want)
		}
	}
	pb.Close()
}

// TestJoinFramesSkipTheBatch: a player that subscribed before any media (an edge's first viewer,
// which gets the origin's burst as live media) gets its first keyframe and the 40 video frames
// after it (with the audio between them) written at once; the frames after those ride the batch.
func TestJoinFramesSkipTheBatch(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	sub := &batchSub{}
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	pb, _ := h.Publish("s", &fakePub{})
	var fb media.FlushBatch
	pb.WriteBatch(media.NewPacket(9, 0, avcSeq), &fb)
	for i := 0; i < 50; i++ {
		v := inter(byte(i))
		if i%25 == 0 {
			v = key(byte(i))
		}
		pb.WriteBatch(media.NewPacket(9, uint32(i*40), v), &fb)
		pb.WriteBatch(media.NewPacket(8, uint32(i*40+5), audio(byte(i))), &fb)
	}
	var video, audioAtOnce []bool
	for i, r := range sub.got {
		if r.info.SeqHeader {
			continue
		}
		if r.typeID == 9 {
			video = append(video, sub.batched[i])
		} else if len(video) <= 41 {
			audioAtOnce = append(audioAtOnce, !sub.batched[i])
		}
	}
	for i, batched := range video {
		if batched != (i >= 41) {
			t.Fatalf("video frame %d batched=%v: want the first 41 at once, the rest batched", i, batched)
		}
	}
	for i, once := range audioAtOnce[:40] {
		if !once {
			t.Fatalf("audio %d between the join frames was batched", i)
		}
	}
	pb.Close()
}
