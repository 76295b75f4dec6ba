package chunk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// hostileFixtures are byte sequences a hostile peer sends right after the handshake, and the
// error each must end with under PreConnectLimits. They also seed FuzzReader.
var hostileFixtures = []struct {
	name string
	hex  string
	want error
}{
	{"chunk size 2^31-1, then 64 KiB + 1 announced", "02 000000 000004 01 00000000 7fffffff" +
		"03 000000 010001 14 00000000" + rep(0x11, 40), ErrMessageTooLarge},
	{"8 MiB announced, 40 bytes sent", "06 000000 800000 09 01000000" + rep(0x11, 40), ErrMessageTooLarge},
	{"64 KiB + 1 announced before connect", "03 000000 010001 14 00000000" + rep(0x11, 40), ErrMessageTooLarge},
	{"two 40 KiB partial messages before connect", "02 000000 000004 01 00000000 00008000" +
		"03 000000 00a000 14 00000000" + rep(0x11, 32768) + "04 000000 00a000 14 00000000" + rep(0x22, 32768) +
		"c3" + rep(0x11, 8192), ErrBufferLimit},
}

// readHostile reads b as a connection before connect does: Set Chunk Size applied as it arrives.
func readHostile(b []byte) error {
	r := NewReader(bufio.NewReader(bytes.NewReader(b)), PreConnectLimits())
	for {
		h, p, err := r.ReadMessage()
		if err != nil {
			return err
		}
		if h.TypeID == 1 && len(p) == 4 {
			if err := r.SetChunkSize(uint32(p[0]&0x7f)<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])); err != nil {
				return err
			}
		}
	}
}

func TestHostileFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range hostileFixtures {
		if err := readHostile(unhex(f.hex)); !errors.Is(err, f.want) {
			t.Errorf("%s: got %v, want %v", f.name, err, f.want)
		}
	}
}

// TestHeldFollowsArrivedBytes: after Set Chunk Size 8 MiB, a message announced at 8 MiB of which
// only some bytes arrive holds at most twice what arrived (at least one growth step), never the
// announced length. (Before, the buffer was sized for the whole chunk, 8 MiB for 40 bytes.)
func TestHeldFollowsArrivedBytes(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxMessageSize: 16<<20 - 1, MaxBufferedBytes: 32 << 20}
	for _, arrived := range []int{40, 5000, 100000, 3 << 20} {
		b := append(unhex("06 000000 800000 09 01000000"), make([]byte, arrived)...)
		r := NewReader(bufio.NewReader(bytes.NewReader(b)), lim)
		if err := r.SetChunkSize(8 << 20); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d bytes: got %v, want the input's end", arrived, err)
		}
		if bound := max(growStep, 2*arrived); r.held > bound || cap(r.streams.get(6).buf) != r.held {
			t.Errorf("%d of 8 MiB arrived: %d bytes held (buffer %d), want at most %d", arrived, r.held,
				cap(r.streams.get(6).buf), bound)
		}
	}
}

// TestHugeAnnouncedAllocations: reading 40 bytes of an announced 8 MiB message at chunk size
// 8 MiB allocates only a small buffer, whatever the header said.
func TestHugeAnnouncedAllocations(t *testing.T) {
	b := append(unhex("06 000000 800000 09 01000000"), make([]byte, 40)...)
	lim := Limits{MaxMessageSize: 16<<20 - 1, MaxBufferedBytes: 32 << 20}
	var held int
	allocs := testing.AllocsPerRun(10, func() {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(b), 4096), lim)
		_ = r.SetChunkSize(8 << 20)
		_, _, _ = r.ReadMessage()
		held = r.held
		r.Release()
	})
	if held > growStep || allocs > 8 {
		t.Fatalf("40 bytes of an 8 MiB message: %d bytes held, %v allocations", held, allocs)
	}
}

// TestSetLimitsRaises: a 2 MiB message is refused under the pre-connect limits and read once the
// connection's limits are raised.
func TestSetLimitsRaises(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	wr := NewWriter()
	wr.SetChunkSize(4096)
	msg := bytes.Repeat([]byte{7}, 2<<20)
	bufs := wr.Append(nil, Header{CSID: 6, TypeID: 9, StreamID: 1}, msg)
	bufs.WriteTo(&w)
	raw := w.Bytes()

	r := NewReader(bufio.NewReader(bytes.NewReader(raw)), PreConnectLimits())
	_ = r.SetChunkSize(4096)
	if _, _, err := r.ReadMessage(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("before connect: got %v", err)
	}
	r = NewReader(bufio.NewReader(bytes.NewReader(raw)), PreConnectLimits())
	_ = r.SetChunkSize(4096)
	r.SetLimits(DefaultLimits())
	if _, p, err := r.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
		t.Fatalf("after connect: %d bytes, %v", len(p), err)
	}
}

// TestHugeChunkSizeCostsNothing: every 31-bit chunk size is accepted (some senders announce
// 2^31-1 to never split a message); a message then arrives as one chunk, and a partial one holds
// about what arrived, not the announced size.
func TestHugeChunkSizeCostsNothing(t *testing.T) {
	t.Parallel()
	msg := bytes.Repeat([]byte{0x5a}, 300000)
	whole := append(unhex("06 000000 0493e0 09 01000000"), msg...) // 300,000 bytes in one chunk
	partial := append(unhex("06 000000 3fffff 09 01000000"), make([]byte, 40)...)
	for _, n := range []uint32{300000, 1<<20 + 1, 8 << 20, 1<<31 - 1} {
		r := NewReader(bufio.NewReader(bytes.NewReader(whole)), DefaultLimits())
		if err := r.SetChunkSize(n); err != nil {
			t.Fatalf("chunk size %d: %v", n, err)
		}
		if _, p, err := r.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("chunk size %d: %d bytes, %v", n, len(p), err)
		}
		r = NewReader(bufio.NewReader(bytes.NewReader(partial)), DefaultLimits())
		_ = r.SetChunkSize(n)
		if _, _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("chunk size %d: partial message: %v", n, err)
		}
		if r.held > growStep {
			t.Errorf("chunk size %d: %d bytes held for 40 bytes of a 4 MiB message", n, r.held)
		}
	}
}

// TestLargeBuffersNotPooled: a buffer past the largest pooled class is never handed out again.
func TestLargeBuffersNotPooled(t *testing.T) {
	t.Parallel()
	big := getBuf(1 << 20)
	putBuf(big)
	if again := getBuf(1 << 20); &(*again)[0] == &(*big)[0] {
		t.Fatal("a 1 MiB buffer came back from the pool")
	}
}

// partialReader returns a reader that has read a header announcing size bytes on csid and the
// first n of them (chunk size 1 MiB), sharing b.
func partialReader(t *testing.T, b *Budget, n int, evicted chan<- string, name string) *Reader {
	t.Helper()
	raw := append(unhex("06 000000 400000 09 01000000"), make([]byte, n)...)
	r := NewReader(bufio.NewReader(bytes.NewReader(raw)), Limits{MaxMessageSize: 4 << 20, MaxBufferedBytes: 8 << 20})
	r.UseBudget(b, func(err error) {
		if !errors.Is(err, ErrInboundBudget) {
			t.Errorf("%s evicted with %v", name, err)
		}
		evicted <- name
	})
	_ = r.SetChunkSize(1 << 20)
	if _, _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// TestBudgetEvictsLargestHolder: past the shared budget, the reader holding the most is closed,
// the others (the one that pushed it over included) go on; a reader that is itself the largest
// gets the error; released readers give their bytes back.
func TestBudgetEvictsLargestHolder(t *testing.T) {
	t.Parallel()
	b := NewBudget(1 << 20)
	evicted := make(chan string, 4)
	big := partialReader(t, b, 600<<10, evicted, "big")    // holds 1 MiB (class of 600 KiB)
	small := partialReader(t, b, 10<<10, evicted, "small") // 16 KiB: over the budget now
	if got := <-evicted; got != "big" {
		t.Fatalf("evicted %s", got)
	}
	big.Release()
	if b.Held() != int64(small.held) || b.Evictions() != 1 {
		t.Fatalf("held %d (small holds %d), %d evictions", b.Held(), small.held, b.Evictions())
	}
	// a reader that becomes the largest holder past the budget is refused itself
	raw := append(unhex("06 000000 400000 09 01000000"), make([]byte, 2<<20)...)
	self := NewReader(bufio.NewReader(bytes.NewReader(raw)), Limits{MaxMessageSize: 4 << 20, MaxBufferedBytes: 8 << 20})
	self.UseBudget(b, func(error) { t.Error("self evicted through its callback") })
	_ = self.SetChunkSize(1 << 20)
	if _, _, err := self.ReadMessage(); !errors.Is(err, ErrInboundBudget) {
		t.Fatalf("largest holder got %v", err)
	}
	self.Release()
	small.Release()
	if b.Held() != 0 || len(evicted) != 0 {
		t.Fatalf("held %d after every release, %d more evictions", b.Held(), len(evicted))
	}
}

// checkHeld verifies the reader's count of buffer capacity (fuzzing).
func checkHeld(t *testing.T, r *Reader) {
	t.Helper()
	sum := 0
	r.streams.each(func(cs *streamState) { sum += cap(cs.buf) })
	if sum != r.held || r.held > r.lim.MaxBufferedBytes {
		t.Fatalf("held %d, buffers %d, limit %d", r.held, sum, r.lim.MaxBufferedBytes)
	}
}
