package chunk

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func rep(b byte, n int) string { return strings.Repeat(hex.EncodeToString([]byte{b}), n) }

type msg struct {
	csid, ts, length uint32
	typeID           uint8
	sid              uint32
	fill             byte // payload is length bytes of fill
}

// readerFixtures: raw chunk bytes (chunk size 128 unless chunkSize is set) and the messages they
// must produce. They also seed FuzzReader.
var readerFixtures = []struct {
	name      string
	chunkSize uint32
	hex       string
	want      []msg
}{
	{name: "fmt0 one chunk", hex: "03 000064 000004 14 01000000" + rep(0xAA, 4),
		want: []msg{{3, 100, 4, 20, 1, 0xAA}}},
	{name: "fmt0 then fmt1 then fmt2 then fmt3 new message", hex: "04 000010 000002 08 01000000 aaaa" +
		"44 000005 000003 09 bbbbbb" + "84 000007 cccccc" + "c4 dddddd",
		want: []msg{{4, 16, 2, 8, 1, 0xAA}, {4, 21, 3, 9, 1, 0xBB}, {4, 28, 3, 9, 1, 0xCC}, {4, 35, 3, 9, 1, 0xDD}}},
	{name: "fmt3 new message after fmt0 repeats the fmt0 field", hex: "05 000010 000001 12 00000000 aa c5 bb",
		want: []msg{{5, 16, 1, 18, 0, 0xAA}, {5, 32, 1, 18, 0, 0xBB}}},
	{name: "2-byte basic header csid 64+1", hex: "00 01 000001 000001 14 00000000 aa",
		want: []msg{{65, 1, 1, 20, 0, 0xAA}}},
	{name: "3-byte basic header csid 65599", hex: "01 ff ff 000001 000001 14 00000000 aa",
		want: []msg{{65599, 1, 1, 20, 0, 0xAA}}},
	{name: "multi-chunk message", hex: "06 000000 000082 09 01000000" + rep(0x11, 128) + "c6" + rep(0x11, 2),
		want: []msg{{6, 0, 130, 9, 1, 0x11}}},
	{name: "interleaved chunk streams", hex: "06 000000 000082 09 01000000" + rep(0x11, 128) +
		"04 000001 000001 08 01000000 22" + "c6" + rep(0x11, 2),
		want: []msg{{4, 1, 1, 8, 1, 0x22}, {6, 0, 130, 9, 1, 0x11}}},
	{name: "extended fmt0", hex: "07 ffffff 000001 09 01000000 01000000 aa",
		want: []msg{{7, 0x1000000, 1, 9, 1, 0xAA}}},
	{name: "extended fmt0 continuation WITH the 4 bytes", hex: "07 ffffff 000082 09 01000000 01000000" + rep(0x11, 128) + "c7 01000000" + rep(0x11, 2),
		want: []msg{{7, 0x1000000, 130, 9, 1, 0x11}}},
	{name: "extended fmt0 continuation WITHOUT the 4 bytes", hex: "07 ffffff 000082 09 01000000 01000000" + rep(0x11, 128) + "c7" + rep(0x11, 2) + "07 000001 000001 09 01000000 22",
		want: []msg{{7, 0x1000000, 130, 9, 1, 0x11}, {7, 1, 1, 9, 1, 0x22}}},
	{name: "extended delta fmt1", hex: "08 000010 000001 09 01000000 aa 48 ffffff 000001 09 01000000 bb",
		want: []msg{{8, 16, 1, 9, 1, 0xAA}, {8, 16 + 0x1000000, 1, 9, 1, 0xBB}}},
	{name: "extended delta fmt2 then fmt3 new message with field", hex: "08 000000 000001 09 01000000 aa 88 ffffff 01000000 bb c8 01000000 cc",
		want: []msg{{8, 0, 1, 9, 1, 0xAA}, {8, 0x1000000, 1, 9, 1, 0xBB}, {8, 0x2000000, 1, 9, 1, 0xCC}}},
	{name: "zero-length message", hex: "03 000000 000000 14 00000000 03 000001 000001 14 00000000 aa",
		want: []msg{{3, 0, 0, 20, 0, 0}, {3, 1, 1, 20, 0, 0xAA}}},
	{name: "first chunk fmt1 (FMLE/librtmp)", hex: "45 000010 000001 14 aa",
		want: []msg{{5, 16, 1, 20, 0, 0xAA}}},
	{name: "extended delta fmt1 continuation WITH the 4 bytes", hex: "08 000010 000001 09 01000000 aa 48 ffffff 000082 09 01000000" + rep(0x11, 128) + "c8 01000000" + rep(0x11, 2),
		want: []msg{{8, 16, 1, 9, 1, 0xAA}, {8, 16 + 0x1000000, 130, 9, 1, 0x11}}},
	{name: "extended delta fmt1 continuation WITHOUT the 4 bytes", hex: "08 000010 000001 09 01000000 aa 48 ffffff 000082 09 01000000" + rep(0x11, 128) + "c8" + rep(0x11, 2) + "c8 01000000" + rep(0x22, 128) + "c8 01000000" + rep(0x22, 2),
		want: []msg{{8, 16, 1, 9, 1, 0xAA}, {8, 16 + 0x1000000, 130, 9, 1, 0x11}, {8, 16 + 0x2000000, 130, 9, 1, 0x22}}},
	{name: "extended fmt0 then fmt3 new message WITHOUT field", hex: "07 ffffff 000001 09 01000000 01000000 aa c7 bb",
		want: []msg{{7, 0x1000000, 1, 9, 1, 0xAA}, {7, 0x2000000, 1, 9, 1, 0xBB}}},
	{name: "extended fmt0 then fmt3 new message WITH field", hex: "07 ffffff 000001 09 01000000 01000000 aa c7 01000000 bb",
		want: []msg{{7, 0x1000000, 1, 9, 1, 0xAA}, {7, 0x2000000, 1, 9, 1, 0xBB}}},
	{name: "fmt0 absolute past 0xFFFFFF on every message", hex: "07 ffffff 000001 09 01000000 01000000 aa 07 ffffff 000001 09 01000000 01000028 bb",
		want: []msg{{7, 0x1000000, 1, 9, 1, 0xAA}, {7, 0x1000028, 1, 9, 1, 0xBB}}},
	{name: "timestamp wraps", hex: "07 ffffff 000001 09 01000000 fffffff0 aa 87 000020 bb",
		want: []msg{{7, 0xFFFFFFF0, 1, 9, 1, 0xAA}, {7, 0x10, 1, 9, 1, 0xBB}}},
	{name: "2-byte basic header csid 319", hex: "00 ff 000001 000001 14 00000000 aa",
		want: []msg{{319, 1, 1, 20, 0, 0xAA}}},
	{name: "3-byte basic header csid 320", hex: "01 00 01 000001 000001 14 00000000 aa",
		want: []msg{{320, 1, 1, 20, 0, 0xAA}}},
	{name: "fmt1/fmt3 with 2-byte basic header", hex: "00 01 000001 000001 14 00000000 aa 40 01 000002 000001 14 bb c0 01 cc",
		want: []msg{{65, 1, 1, 20, 0, 0xAA}, {65, 3, 1, 20, 0, 0xBB}, {65, 5, 1, 20, 0, 0xCC}}},
	{name: "first chunk fmt2 (zero length assumed)", hex: "85 000010",
		want: []msg{{5, 16, 0, 0, 0, 0}}},
	{name: "new header mid-message abandons the partial one", hex: "06 000000 000082 09 01000000" + rep(0x11, 128) + "06 000005 000001 09 01000000 22",
		want: []msg{{6, 5, 1, 9, 1, 0x22}}},
	{name: "chunk size 1", chunkSize: 1, hex: "06 000000 000003 09 01000000 33 c6 33 c6 33",
		want: []msg{{6, 0, 3, 9, 1, 0x33}}},
	{name: "large chunk size", chunkSize: 1 << 20, hex: "06 000000 000100 09 01000000" + rep(0x33, 256),
		want: []msg{{6, 0, 256, 9, 1, 0x33}}},
}

func readAll(t *testing.T, b []byte, cs uint32) ([]msg, error) {
	r := NewReader(bufio.NewReader(bytes.NewReader(b)), DefaultLimits())
	if cs != 0 {
		if err := r.SetChunkSize(cs); err != nil {
			t.Fatal(err)
		}
	}
	var got []msg
	for {
		h, p, err := r.ReadMessage()
		if err != nil {
			return got, err
		}
		m := msg{h.CSID, h.Timestamp, h.Length, h.TypeID, h.StreamID, 0}
		if len(p) > 0 {
			m.fill = p[0]
			if !bytes.Equal(p, bytes.Repeat(p[:1], len(p))) {
				t.Fatalf("payload not uniform: %x", p)
			}
		}
		if uint32(len(p)) != h.Length {
			t.Fatalf("payload %d bytes, header says %d", len(p), h.Length)
		}
		got = append(got, m)
	}
}

func TestReaderFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range readerFixtures {
		got, err := readAll(t, unhex(f.hex), f.chunkSize)
		if err == nil || !errors.Is(err, errEOFish(err)) {
			t.Errorf("%s: ended with %v", f.name, err)
		}
		if len(got) != len(f.want) {
			t.Errorf("%s: got %d messages %+v, want %+v", f.name, len(got), got, f.want)
			continue
		}
		for i := range got {
			if got[i] != f.want[i] {
				t.Errorf("%s: message %d = %+v, want %+v", f.name, i, got[i], f.want[i])
			}
		}
	}
}

func errEOFish(err error) error { return err } // any error at the end of input is fine here

func TestReaderLimits(t *testing.T) {
	t.Parallel()
	var many strings.Builder
	for i := 0; i < 100000; i++ {
		many.WriteString("01")
		many.WriteString(hex.EncodeToString([]byte{byte(i), byte(i >> 8)}))
		many.WriteString("000000 000000 14 00000000")
	}
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"message over limit", "03 000000 900000 09 01000000", ErrMessageTooLarge},
		{"100k chunk stream ids", many.String(), ErrTooManyChunkStreams},
		{"fmt3 first", "c3 aa", ErrNoPreviousHeader},
	}
	for _, c := range cases {
		_, err := readAll(t, unhex(c.hex), 0)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	r := NewReader(bufio.NewReader(bytes.NewReader(nil)), DefaultLimits())
	for _, n := range []uint32{0, 1 << 31} {
		if err := r.SetChunkSize(n); !errors.Is(err, ErrBadChunkSize) {
			t.Errorf("chunk size %d: %v", n, err)
		}
	}
	if err := r.SetChunkSize(1<<31 - 1); err != nil {
		t.Errorf("chunk size 2^31-1: %v", err)
	}
}

// TestBufferedLimit: partial messages on many chunk streams hit the total cap, and a huge
// announced message never sent costs only what arrived.
func TestBufferedLimit(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxMessageSize: 1 << 20, MaxChunkStreams: 64, MaxBufferedBytes: 4096}
	var b bytes.Buffer
	for cs := 3; cs < 60; cs++ {
		b.Write([]byte{byte(cs), 0, 0, 0, 0, 0x10, 0, 9, 1, 0, 0, 0})
		b.Write(make([]byte, 128))
	}
	r := NewReader(bufio.NewReader(&b), lim)
	_, _, err := r.ReadMessage()
	if !errors.Is(err, ErrBufferLimit) {
		t.Fatalf("got %v", err)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cs := range []uint32{128, 4096, 60000} {
		for _, ts := range []uint32{0, 1000, 0xFFFFFE, 0xFFFFFF, 0x1000000, 0xFFFFFFFF} {
			for _, size := range []int{0, 1, 127, 128, 129, 5000, 70000} {
				w := NewWriter()
				w.SetChunkSize(cs)
				payload := bytes.Repeat([]byte{0x5A}, size)
				var bufs net.Buffers
				bufs = w.Append(bufs, Header{CSID: 300, Timestamp: ts, TypeID: 9, StreamID: 7}, payload)
				bufs = w.Append(bufs, Header{CSID: 3, Timestamp: ts, TypeID: 20}, []byte{1, 2, 3})
				var out bytes.Buffer
				if _, err := bufs.WriteTo(&out); err != nil {
					t.Fatal(err)
				}
				r := NewReader(bufio.NewReader(&out), Limits{MaxMessageSize: 1 << 20, MaxChunkStreams: 8, MaxBufferedBytes: 1 << 21})
				_ = r.SetChunkSize(cs)
				h, p, err := r.ReadMessage()
				if err != nil || h.Timestamp != ts || len(p) != size || h.StreamID != 7 || h.CSID != 300 {
					t.Fatalf("cs %d ts %x size %d: %+v %v", cs, ts, size, h, err)
				}
				h, p, err = r.ReadMessage()
				if err != nil || h.Timestamp != ts || !bytes.Equal(p, []byte{1, 2, 3}) {
					t.Fatalf("second: %+v %v", h, err)
				}
			}
		}
	}
}

// TestWriterExtendedOnContinuations checks the exact bytes: the 4-byte field after each fmt-3.
func TestWriterExtendedOnContinuations(t *testing.T) {
	t.Parallel()
	w := NewWriter()
	var bufs net.Buffers
	bufs = w.Append(bufs, Header{CSID: 6, Timestamp: 0x01000000, TypeID: 9, StreamID: 1}, bytes.Repeat([]byte{0x11}, 130))
	var out bytes.Buffer
	bufs.WriteTo(&out)
	want := unhex("06 ffffff 000082 09 01000000 01000000" + rep(0x11, 128) + "c6 01000000" + rep(0x11, 2))
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("got  %x\nwant %x", out.Bytes(), want)
	}
}

func FuzzReader(f *testing.F) {
	for _, x := range readerFixtures {
		f.Add(unhex(x.hex))
	}
	for _, x := range capturedConnects {
		f.Add(unhex(x.hex))
	}
	for _, x := range writerFixtures {
		f.Add(unhex(x.hex))
	}
	for _, x := range hostileFixtures {
		f.Add(unhex(x.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{MaxMessageSize: 1 << 16, MaxChunkStreams: 16, MaxBufferedBytes: 1 << 17})
		r.UseBudget(NewBudget(1<<16), nil)
		defer func() {
			r.Release()
			if r.budget.Held() != 0 {
				t.Fatalf("budget holds %d after release", r.budget.Held())
			}
		}()
		for i := 0; i < 1000; i++ {
			h, p, err := r.ReadMessage()
			if err != nil {
				return
			}
			if uint32(len(p)) != h.Length {
				t.Fatalf("payload %d, header %d", len(p), h.Length)
			}
			checkHeld(t, r)
			switch {
			case h.TypeID == 1 && len(p) >= 4:
				_ = r.SetChunkSize(uint32(p[0]&0x7f)<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
			case h.TypeID == 2 && len(p) >= 1:
				r.Abort(uint32(p[0]))
			case h.TypeID == 3: // an idle moment: buffers back to the pools
				r.ReleaseIdle()
			}
		}
	})
}

// loopReader replays one byte sequence forever without allocating.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func benchRead(b *testing.B, cs uint32) {
	w := NewWriter()
	w.SetChunkSize(cs)
	var bufs net.Buffers
	bufs = w.Append(bufs, Header{CSID: 6, Timestamp: 40, TypeID: 9, StreamID: 1}, make([]byte, 4096))
	var out bytes.Buffer
	bufs.WriteTo(&out)
	// Subsequent messages repeat the same fmt-0 header: absolute timestamps, same size.
	r := NewReader(bufio.NewReaderSize(&loopReader{b: out.Bytes()}, 64<<10), DefaultLimits())
	_ = r.SetChunkSize(cs)
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader128(b *testing.B)  { benchRead(b, 128) }
func BenchmarkReader4096(b *testing.B) { benchRead(b, 4096) }

func BenchmarkWriterAppend(b *testing.B) {
	w := NewWriter()
	w.SetChunkSize(4096)
	payload := make([]byte, 16384)
	bufs := make(net.Buffers, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bufs = w.Append(bufs[:0], Header{CSID: 7, Timestamp: uint32(i), TypeID: 9, StreamID: 1}, payload)
		w.Reset()
	}
}
