package live

import (
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// flushSub is a Flusher recording, per delivered message, whether a Flush followed it before
// the next delivery (written at once) or not (left to the connection's media tick), and whether
// the stream's lock was free during each Flush.
type flushSub struct {
	fakeSub
	h        *Hub
	name     string
	flushed  []bool
	unlocked bool // every Flush ran without the stream's lock
	flushes  int
}

func (s *flushSub) Deliver(p *media.Packet, ts uint32) bool {
	s.flushed = append(s.flushed, false)
	return s.fakeSub.Deliver(p, ts)
}

func (s *flushSub) Flush() {
	s.flushes++
	if n := len(s.flushed); n > 0 {
		s.flushed[n-1] = true
	}
	s.h.mu.Lock()
	st := s.h.streams[s.name]
	s.h.mu.Unlock()
	if st.mu.TryLock() {
		st.mu.Unlock()
	} else {
		s.unlocked = false
	}
}

func newFlushSub(h *Hub, name string) *flushSub { return &flushSub{h: h, name: name, unlocked: true} }

// TestFirstKeyframeFlushed: a player waiting for its first keyframe gets it flushed at once
// (startup time), everything after it is left to the connection's media tick (fewer writes),
// with JoinVideoFrames 1 (TestJoinFramesFlushed: the default). Whoever publishes: there is one
// Write.
func TestFirstKeyframeFlushed(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := NewHub(Config{Now: c.now, JoinVideoFrames: 1}, zerolog.Nop())
	defer h.Close()
	sub := newFlushSub(h, "s")
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	pb, _ := h.Publish("s", &fakePub{})
	for i, b := range [][]byte{inter(1), avcSeq, key(2), inter(3), audio(4), key(5)} {
		typeID := uint8(9)
		if b[0] == 0xAF {
			typeID = 8
		}
		pb.Write(media.NewPacket(typeID, uint32(i*40), b))
	}
	want := []bool{false, true, false, false, false} // seq header, key 2 flushed, then the tick's
	if len(sub.flushed) != len(want) {
		t.Fatalf("delivered %d messages (%v), want %d", len(sub.flushed), sub.flushed, len(want))
	}
	for i := range want {
		if sub.flushed[i] != want[i] {
			t.Fatalf("flushed %v, want %v", sub.flushed, want)
		}
	}
	if !sub.unlocked {
		t.Fatal("a flush ran under the stream's lock")
	}
	pb.Close()
}

// TestJoinFramesFlushed: a player that subscribed before any media (an edge's first viewer,
// which gets the origin's burst as live media) gets its first keyframe and the 40 video frames
// after it (with the audio between them) flushed at once; the frames after those are left to
// the media tick.
func TestJoinFramesFlushed(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	sub := newFlushSub(h, "s")
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	pb, _ := h.Publish("s", &fakePub{})
	pb.Write(media.NewPacket(9, 0, avcSeq))
	for i := 0; i < 50; i++ {
		v := inter(byte(i))
		if i%25 == 0 {
			v = key(byte(i))
		}
		pb.Write(media.NewPacket(9, uint32(i*40), v))
		pb.Write(media.NewPacket(8, uint32(i*40+5), audio(byte(i))))
	}
	var video, audioAtOnce []bool
	for i, r := range sub.got {
		if r.info.SeqHeader {
			continue
		}
		if r.typeID == 9 {
			video = append(video, sub.flushed[i])
		} else if len(video) <= 41 {
			audioAtOnce = append(audioAtOnce, sub.flushed[i])
		}
	}
	for i, flushed := range video {
		if flushed != (i < 41) {
			t.Fatalf("video frame %d flushed=%v: want the first 41 at once, the rest on the tick", i, flushed)
		}
	}
	for i, once := range audioAtOnce[:40] {
		if !once {
			t.Fatalf("audio %d between the join frames was left to the tick", i)
		}
	}
	if !sub.unlocked {
		t.Fatal("a flush ran under the stream's lock")
	}
	pb.Close()
}

// TestJoinBurstFlushedWithoutLock: a late joiner's burst (metadata, headers, cached GOP) is
// queued under the stream's lock and flushed once, after Subscribe released it: no socket write
// of a burst happens while the publisher's messages wait for the lock.
func TestJoinBurstFlushedWithoutLock(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	pb.Write(media.NewPacket(9, 0, avcSeq))
	for i := 0; i < 10; i++ {
		v := inter(byte(i))
		if i == 0 {
			v = key(byte(i))
		}
		pb.Write(media.NewPacket(9, uint32(i*40), v))
	}
	sub := newFlushSub(h, "s")
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	if len(sub.got) != 11 || sub.flushes != 1 || !sub.unlocked {
		t.Fatalf("burst of %d messages, %d flushes (unlocked %v); want 11 messages, one flush without the lock",
			len(sub.got), sub.flushes, sub.unlocked)
	}
	pb.Close()
}
