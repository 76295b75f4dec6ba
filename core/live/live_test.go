package live

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
	"github.com/rs/zerolog"
)

// fakeSub records what it is given; cap limits how many it accepts (0 = unlimited).
type fakeSub struct {
	mu     sync.Mutex
	cap    int
	got    []rec
	events []EventKind
	cut    error
}

type rec struct {
	typeID uint8
	ts     uint32
	info   media.Info
	first  byte
}

func (f *fakeSub) Deliver(p *media.Packet, ts uint32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cap > 0 && len(f.got) >= f.cap {
		return false
	}
	var b byte
	if len(p.Payload) > 0 {
		b = p.Payload[len(p.Payload)-1]
	}
	f.got = append(f.got, rec{p.TypeID, ts, p.Info, b})
	p.Release()
	return true
}
func (f *fakeSub) Notify(ev Event) {
	f.mu.Lock()
	f.events = append(f.events, ev.Kind)
	f.mu.Unlock()
}
func (f *fakeSub) CutOff(err error) {
	f.mu.Lock()
	f.cut = err
	f.mu.Unlock()
}
func (f *fakeSub) drain() { f.mu.Lock(); f.got = nil; f.mu.Unlock() }

type fakePub struct{ kicked error }

func (p *fakePub) Kick(err error) { p.kicked = err }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newHub(c *clock) *Hub {
	return NewHub(Config{Now: c.now}, zerolog.Nop())
}

var (
	avcSeq = []byte{0x17, 0, 0, 0, 0, 1}
	aacSeq = []byte{0xAF, 0, 0x12}
)

func key(tag byte) []byte   { return []byte{0x17, 1, 0, 0, 0, tag} }
func inter(tag byte) []byte { return []byte{0x27, 1, 0, 0, 0, tag} }
func audio(tag byte) []byte { return []byte{0xAF, 1, tag} }

func write(pb *Publication, typeID uint8, ts uint32, b []byte) {
	pb.Write(media.NewPacket(typeID, ts, b))
}

// tracker keeps a reference of every packet it makes, to check at the end that the hub released
// all of its own.
type tracker struct{ pkts []*media.Packet }

func (tr *tracker) pkt(typeID uint8, ts uint32, b []byte) *media.Packet {
	p := media.NewPacket(typeID, ts, b)
	tr.pkts = append(tr.pkts, p.Retain())
	return p
}

func (tr *tracker) write(pb *Publication, typeID uint8, ts uint32, b []byte) {
	pb.Write(tr.pkt(typeID, ts, b))
}

// released fails for each packet the hub still references, then drops the tracker's own.
func (tr *tracker) released(t *testing.T) {
	t.Helper()
	held := 0
	for _, p := range tr.pkts {
		if p.Refs() != 1 {
			held++
		}
	}
	if held > 0 {
		t.Fatalf("%d of %d packets still referenced", held, len(tr.pkts))
	}
	for _, p := range tr.pkts {
		p.Release()
	}
}

func TestLateJoinerOrder(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	// only the last GOP (the burst rule has its own tests): the order is what this checks
	h := NewHub(Config{Now: c.now, JoinVideoFrames: 1}, zerolog.Nop())
	defer h.Close()
	pb, err := h.Publish("s", &fakePub{})
	if err != nil {
		t.Fatal(err)
	}
	pb.SetMetadata(media.NewPacket(18, 0, []byte("meta")))
	write(pb, 9, 0, avcSeq)
	write(pb, 8, 0, aacSeq)
	write(pb, 9, 0, key(1))
	write(pb, 9, 40, inter(2))
	write(pb, 9, 80, key(3))
	write(pb, 8, 90, audio(4))
	write(pb, 9, 120, inter(5))
	sub := &fakeSub{}
	if _, err := h.Subscribe("s", sub); err != nil {
		t.Fatal(err)
	}
	got := sub.got
	if len(got) != 6 {
		t.Fatalf("got %d messages: %+v", len(got), got)
	}
	if got[0].ts != 0 {
		t.Fatalf("metadata at %d, want 0 (as in an FLV file, as nginx-rtmp sends it)", got[0].ts)
	}
	for i, r := range got[1:4] {
		if r.ts != 80 {
			t.Fatalf("message %d: ts %d, want the GOP start 80 so the player's clock does not jump", i+1, r.ts)
		}
	}
	if got[0].typeID != 18 || !got[1].info.SeqHeader || got[1].typeID != 9 || !got[2].info.SeqHeader || got[2].typeID != 8 {
		t.Fatalf("headers out of order: %+v", got[:3])
	}
	if !got[3].info.Keyframe || got[3].first != 3 || got[4].first != 4 || got[5].first != 5 {
		t.Fatalf("GOP wrong: %+v", got[3:])
	}
	pb.Close()
	h.Close()
}

func TestPlayBeforePublishAndUnpublish(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	sub := &fakeSub{}
	s, _ := h.Subscribe("s", sub)
	pb, _ := h.Publish("s", &fakePub{})
	write(pb, 9, 0, inter(1)) // not a keyframe: a new player waits for one
	write(pb, 9, 40, key(2))
	pb.Close()
	if len(sub.events) != 3 || sub.events[0] != EventPublishNotify || sub.events[1] != EventReset || sub.events[2] != EventUnpublishNotify {
		t.Fatalf("events %v", sub.events)
	}
	if len(sub.got) != 1 || sub.got[0].first != 2 {
		t.Fatalf("got %+v", sub.got)
	}
	s.Close()
	if len(h.Streams()) != 0 {
		t.Fatal("idle stream not removed")
	}
}

func TestBadNameAndTakeover(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	p1 := &fakePub{}
	enc := Claim{Identity: "127.0.0.1\x00\x00key=k"}
	pb1, _ := h.PublishAs("s", p1, enc)
	sub := &fakeSub{}
	h.Subscribe("s", sub)
	write(pb1, 9, 5000, key(1))
	c.add(time.Second)
	if _, err := h.PublishAs("s", &fakePub{}, enc); !errors.Is(err, ErrBadName) {
		t.Fatalf("want ErrBadName while the first publisher is active, got %v", err)
	}
	c.add(5 * time.Second) // the first publisher went silent (half-open)
	for _, other := range []Claim{{}, {Identity: "127.0.0.2\x00\x00key=k"}, {Identity: "127.0.0.1\x00\x00key=x"}} {
		if h.Holder("s", other.Identity) != HolderOther {
			t.Fatalf("Holder for %q: %v, want HolderOther", other.Identity, h.Holder("s", other.Identity))
		}
		if _, err := h.PublishAs("s", &fakePub{}, other); !errors.Is(err, ErrBadName) || p1.kicked != nil {
			t.Fatalf("claim %q took a silent publisher over: %v", other.Identity, err)
		}
	}
	if h.Holder("s", enc.Identity) != HolderSame {
		t.Fatal("the encoder's own identity is not HolderSame")
	}
	pb2, err := h.PublishAs("s", &fakePub{}, enc)
	if err != nil || p1.kicked != ErrReplaced {
		t.Fatalf("takeover: %v, kicked %v", err, p1.kicked)
	}
	pb1.Close() // the kicked session closes later: must not unpublish the new one
	write(pb2, 9, 0, key(2))
	write(pb2, 9, 40, inter(3))
	if len(sub.got) != 3 {
		t.Fatalf("got %+v", sub.got)
	}
	if sub.got[1].ts < sub.got[0].ts || sub.got[2].ts < sub.got[1].ts {
		t.Fatalf("timestamps went backwards across the takeover: %+v", sub.got)
	}
	if sub.got[2].ts-sub.got[1].ts != 40 {
		t.Fatalf("spacing lost: %+v", sub.got)
	}
	if !h.Streams()[0].Publishing {
		t.Fatal("new publisher lost")
	}
}

func TestSlowSubscriberSkipsToKeyframeAndIsCutOff(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	slow, fast := &fakeSub{cap: 2}, &fakeSub{}
	h.Subscribe("s", slow)
	h.Subscribe("s", fast)
	write(pb, 9, 0, key(1))
	write(pb, 9, 40, inter(2))
	write(pb, 9, 80, inter(3)) // refused: slow starts skipping
	slow.drain()
	write(pb, 9, 120, inter(4)) // skipped although there is room again
	write(pb, 9, 160, key(5))   // resumes here
	if len(slow.got) != 1 || slow.got[0].first != 5 {
		t.Fatalf("slow got %+v", slow.got)
	}
	if len(fast.got) != 5 {
		t.Fatalf("fast got %d", len(fast.got))
	}
	// now it stays behind past CutOffAfter
	slow.cap = 1
	write(pb, 9, 200, inter(6))
	c.add(11 * time.Second)
	write(pb, 9, 240, inter(7))
	if slow.cut != ErrTooSlow {
		t.Fatalf("not cut off: %v", slow.cut)
	}
	if n := h.Streams()[0].Subscribers; n != 1 {
		t.Fatalf("%d subscribers left", n)
	}
}

func TestReceiveVideoAndPause(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	sub := &fakeSub{}
	s, _ := h.Subscribe("s", sub)
	write(pb, 9, 0, key(1))
	s.SetReceiveVideo(false)
	write(pb, 9, 40, inter(2))
	write(pb, 8, 41, audio(3))
	s.SetReceiveVideo(true)
	write(pb, 9, 80, inter(4)) // waits for a keyframe
	write(pb, 9, 120, key(5))
	s.Pause(true)
	write(pb, 9, 160, key(6))
	s.Pause(false)
	write(pb, 9, 200, key(7))
	var tags []byte
	for _, r := range sub.got {
		tags = append(tags, r.first)
	}
	if string(tags) != "\x01\x03\x05\x07" {
		t.Fatalf("got %v", tags)
	}
}

func TestEnhancedKeyframesStartGOP(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	for _, fourcc := range []string{"hvc1", "av01", "vp09"} {
		pb, _ := h.Publish(fourcc, &fakePub{})
		write(pb, 9, 0, append([]byte{0x90}, fourcc...))            // sequence start
		write(pb, 9, 0, append(append([]byte{0x93}, fourcc...), 1)) // keyframe, coded frames X
		write(pb, 9, 40, append(append([]byte{0xA3}, fourcc...), 2))
		sub := &fakeSub{}
		h.Subscribe(fourcc, sub)
		if len(sub.got) != 3 || !sub.got[0].info.SeqHeader || !sub.got[1].info.Keyframe {
			t.Fatalf("%s: %+v", fourcc, sub.got)
		}
	}
}

func TestGOPCacheBounded(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := NewHub(Config{Now: c.now, GOPCacheMaxBytes: 100}, zerolog.Nop())
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	write(pb, 9, 0, key(1))
	for i := 0; i < 30; i++ {
		write(pb, 9, uint32(40*i), inter(2))
	}
	sub := &fakeSub{}
	h.Subscribe("s", sub)
	if len(sub.got) != 0 {
		t.Fatalf("an over-long GOP was served: %d messages", len(sub.got))
	}
}

func TestPacketsReleased(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	var tr tracker
	h := newHub(c)
	pb, _ := h.Publish("s", &fakePub{})
	sub := &fakeSub{}
	s, _ := h.Subscribe("s", sub)
	pb.SetMetadata(tr.pkt(18, 0, []byte("m")))
	tr.write(pb, 9, 0, avcSeq)
	for i := 0; i < 10; i++ {
		tr.write(pb, 9, uint32(i*40), key(byte(i)))
		tr.write(pb, 8, uint32(i*40), audio(byte(i)))
	}
	slow := &fakeSub{cap: 3} // refuses, skips, gets cut off
	h.Subscribe("s", slow)
	c.add(5 * time.Second)
	pb2, err := h.PublishAs("s", &fakePub{}, Claim{Takeover: true}) // a takeover the app accepted
	if err != nil {
		t.Fatal(err)
	}
	tr.write(pb2, 9, 0, avcSeq)
	tr.write(pb2, 9, 0, key(1))
	c.add(11 * time.Second)
	tr.write(pb2, 9, 40, inter(2))
	if slow.cut == nil {
		t.Fatal("slow subscriber not cut off")
	}
	tr.write(pb, 9, 0, key(9)) // the replaced publisher's late write
	h.Subscribe("s", &fakeSub{})
	s.Close()
	pb.Close()
	h.Close()
	tr.released(t)
}

func TestTimestampsNeverGoBackwards(t *testing.T) {
	t.Parallel()
	type msg struct {
		typeID uint8
		ts     uint32
	}
	cases := []struct {
		name string
		in   []msg
		want []uint32
	}{
		{"audio/video jitter is clamped", []msg{{9, 100}, {8, 90}, {9, 140}, {8, 130}}, []uint32{100, 100, 140, 140}},
		{"encoder clock restart is rebased", []msg{{9, 10000}, {9, 10040}, {9, 0}, {9, 40}}, []uint32{10000, 10040, 10040, 10080}},
		{"forward steps kept", []msg{{9, 0}, {8, 23}, {9, 40}}, []uint32{0, 23, 40}},
	}
	for _, tc := range cases {
		c := &clock{t: time.Unix(1000, 0)}
		h := newHub(c)
		pb, _ := h.Publish("s", &fakePub{})
		write(pb, 9, tc.in[0].ts, key(0))
		sub := &fakeSub{}
		h.Subscribe("s", sub)
		sub.drain()
		for i, m := range tc.in {
			if m.typeID == 9 {
				write(pb, 9, m.ts, inter(byte(i)))
			} else {
				write(pb, 8, m.ts, audio(byte(i)))
			}
		}
		var got []uint32
		for _, r := range sub.got {
			got = append(got, r.ts)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		h.Close()
	}
}

func TestAudioOnlySlowSubscriberResumesWhenQueueAccepts(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	slow := &fakeSub{cap: 1}
	h.Subscribe("s", slow)
	write(pb, 8, 0, audio(1))
	write(pb, 8, 23, audio(2)) // refused
	slow.drain()
	write(pb, 8, 46, audio(3)) // accepted at once: no keyframe to wait for
	if len(slow.got) != 1 || slow.got[0].first != 3 || slow.cut != nil {
		t.Fatalf("got %+v cut %v", slow.got, slow.cut)
	}
	if d := h.Streams()[0].Drops; d != 1 {
		t.Fatalf("drops %d", d)
	}
}

func TestMetadataUpdateReachesPlayers(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	h := newHub(c)
	defer h.Close()
	pb, _ := h.Publish("s", &fakePub{})
	sub := &fakeSub{}
	h.Subscribe("s", sub)
	write(pb, 9, 5000, key(1))
	pb.SetMetadata(media.NewPacket(18, 0, []byte("m2")))
	write(pb, 9, 5040, inter(2))
	if len(sub.got) != 3 || sub.got[1].typeID != 18 || sub.got[1].ts != 5000 || sub.got[2].ts != 5040 {
		t.Fatalf("got %+v", sub.got)
	}
	pb.SetMetadata(nil)
	late := &fakeSub{}
	h.Subscribe("s", late)
	if len(late.got) == 0 || late.got[0].typeID == 18 {
		t.Fatalf("cleared metadata still served: %+v", late.got)
	}
}

func TestHubCloseEndsEverything(t *testing.T) {
	t.Parallel()
	h := newHub(&clock{t: time.Unix(1000, 0)})
	pub, sub := &fakePub{}, &fakeSub{}
	pb, _ := h.Publish("s", pub)
	h.Subscribe("s", sub)
	write(pb, 9, 0, key(1))
	h.Close()
	if !errors.Is(pub.kicked, ErrClosed) || !errors.Is(sub.cut, ErrClosed) {
		t.Fatalf("kicked %v cut %v", pub.kicked, sub.cut)
	}
	write(pb, 9, 40, inter(2)) // late writes are released, not delivered
	pb.Close()
	if _, err := h.Subscribe("s", &fakeSub{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
	if _, err := h.Publish("s", &fakePub{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

// TestConcurrentChurn runs players joining and leaving while a publisher writes and another
// stream comes and goes; -race checks the locking, and every packet must be released at the end.
func TestConcurrentChurn(t *testing.T) {
	t.Parallel()
	var tr tracker
	h := newHub(&clock{t: time.Unix(1000, 0)})
	pb, _ := h.Publish("s", &fakePub{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s, err := h.Subscribe("s", &fakeSub{cap: 5})
				if err != nil {
					t.Error(err)
					return
				}
				s.SetReceiveVideo(i%2 == 0)
				s.Close()
				o, _ := h.Subscribe("other", &fakeSub{})
				o.Close()
				_ = h.Streams()
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		if i%30 == 0 {
			tr.write(pb, 9, uint32(i), key(1))
		} else {
			tr.write(pb, 9, uint32(i), inter(2))
		}
	}
	wg.Wait()
	pb.Close()
	h.Close()
	tr.released(t)
}
