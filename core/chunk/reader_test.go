package chunk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

func newTestReader(b []byte) *Reader {
	return NewReader(bufio.NewReader(bytes.NewReader(b)), DefaultLimits())
}

// TestAbort: csid 6 is left partial while csid 4 completes; Abort drops the partial bytes and
// the next message on csid 6 is read from scratch.
func TestAbort(t *testing.T) {
	t.Parallel()
	b := unhex("06 000000 000082 09 01000000" + rep(0x11, 128) + "04 000001 000001 08 01000000 22" +
		"06 000009 000002 09 01000000 3333")
	r := newTestReader(b)
	h, _, err := r.ReadMessage()
	if err != nil || h.CSID != 4 {
		t.Fatalf("first: %+v %v", h, err)
	}
	if cs := r.streams.get(6); !cs.inMsg || cs.have != 128 {
		t.Fatalf("csid 6: in message %v with %d bytes, want 128", cs.inMsg, cs.have)
	}
	r.Abort(6)
	r.Abort(99) // unknown chunk stream: ignored
	if cs := r.streams.get(6); cs.inMsg || cs.have != 0 {
		t.Fatalf("csid 6 after abort: in message %v with %d bytes", cs.inMsg, cs.have)
	}
	h, p, err := r.ReadMessage()
	if err != nil || h.CSID != 6 || h.Timestamp != 9 || !bytes.Equal(p, []byte{0x33, 0x33}) {
		t.Fatalf("after abort: %+v %x %v", h, p, err)
	}
}

// TestChunkSizeChange: a Set Chunk Size read from the stream applies to the chunks after it.
func TestChunkSizeChange(t *testing.T) {
	t.Parallel()
	var bufs net.Buffers
	w := NewWriter()
	bufs = w.Append(bufs, Header{CSID: 2, TypeID: 1}, []byte{0, 0, 0x10, 0})
	w.SetChunkSize(4096)
	bufs = w.Append(bufs, Header{CSID: 6, TypeID: 9, StreamID: 1}, bytes.Repeat([]byte{7}, 5000))
	var out bytes.Buffer
	if _, err := bufs.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	r := newTestReader(out.Bytes())
	h, p, err := r.ReadMessage()
	if err != nil || h.TypeID != 1 {
		t.Fatalf("%+v %v", h, err)
	}
	if err := r.SetChunkSize(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])); err != nil {
		t.Fatal(err)
	}
	h, p, err = r.ReadMessage()
	if err != nil || len(p) != 5000 || h.CSID != 6 {
		t.Fatalf("%+v %v", h, err)
	}
	if r.BytesRead() != uint64(out.Len()) {
		t.Fatalf("BytesRead %d, wrote %d", r.BytesRead(), out.Len())
	}
}

func TestOddStartsCounted(t *testing.T) {
	t.Parallel()
	r := newTestReader(unhex("45 000010 000001 14 aa 46 000010 000001 14 aa 45 000001 000001 14 bb"))
	for range 3 {
		if _, _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if r.OddStarts() != 2 {
		t.Fatalf("OddStarts %d, want 2", r.OddStarts())
	}
}

// TestAnnouncedSizeNotAllocated: a 16 MiB - 1 message announced and never sent costs only about
// what arrived.
func TestAnnouncedSizeNotAllocated(t *testing.T) {
	t.Parallel()
	b := unhex("06 000000 ffffff 09 01000000" + rep(0x11, 128) + "c6" + rep(0x11, 128))
	r := NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{MaxMessageSize: 1<<24 - 1})
	if _, _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want EOF", err)
	}
	if c := cap(r.streams.get(6).buf); c > 1024 {
		t.Fatalf("buffer of %d bytes after 256 arrived", c)
	}
}

func TestLimitsDefaultPerField(t *testing.T) {
	t.Parallel()
	r := NewReader(bufio.NewReader(bytes.NewReader(nil)), Limits{MaxChunkStreams: 3})
	want := DefaultLimits()
	want.MaxChunkStreams = 3
	if r.lim != want {
		t.Fatalf("limits %+v, want %+v", r.lim, want)
	}
}

func TestTooManyChunkStreamsHighIDs(t *testing.T) {
	t.Parallel()
	var b []byte
	for i := range 5 {
		b = append(b, 0x01, byte(i), 1, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0)
	}
	r := NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{MaxChunkStreams: 4})
	var err error
	for n := 0; err == nil; n++ {
		_, _, err = r.ReadMessage()
		if err == nil && n >= 4 {
			t.Fatal("fifth chunk stream accepted")
		}
	}
	if !errors.Is(err, ErrTooManyChunkStreams) {
		t.Fatalf("got %v", err)
	}
}

// TestReadSteadyStateAllocs: after warm-up, reading messages allocates nothing, across chunk
// streams and with buffers that were grown once. Not parallel: AllocsPerRun counts the whole
// process, so it runs in the sequential phase, before the parallel tests.
func TestReadSteadyStateAllocs(t *testing.T) {
	w := NewWriter()
	var bufs net.Buffers
	bufs = w.Append(bufs, Header{CSID: 6, Timestamp: 40, TypeID: 9, StreamID: 1}, make([]byte, 9000))
	bufs = w.Append(bufs, Header{CSID: 4, Timestamp: 40, TypeID: 8, StreamID: 1}, make([]byte, 300))
	bufs = w.Append(bufs, Header{CSID: 3, TypeID: 20}, nil)
	var out bytes.Buffer
	_, _ = bufs.WriteTo(&out)
	r := NewReader(bufio.NewReaderSize(&loopReader{b: out.Bytes()}, 64<<10), DefaultLimits())
	read3 := func() {
		for range 3 {
			if _, _, err := r.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		}
	}
	read3()
	if n := testing.AllocsPerRun(100, read3); n != 0 {
		t.Fatalf("%v allocations per 3 messages", n)
	}
}

// TestReleaseReusesBuffers: buffers given back by one reader are found by the next.
func TestReleaseReusesBuffers(t *testing.T) {
	t.Parallel()
	r := newTestReader(unhex("06 000000 000082 09 01000000" + rep(0x11, 128) + "c6 1111"))
	if _, _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	r.Release()
	if r.streams.get(6).buf != nil || r.held != 0 {
		t.Fatal("buffer kept after Release")
	}
	if b := getBuf(200); len(*b) != 256 {
		t.Fatalf("size class of 200: %d", len(*b))
	}
	odd := make([]byte, 100)
	putBuf(&odd) // not a class: dropped, no panic
	putBuf(nil)
}

// capturedConnects are the first bytes after the handshake from the installed clients (ffmpeg
// 5.1 publishing, rtmpdump 2.4 playing), captured on this machine: a connect command in one
// fmt-0 chunk on csid 3 plus 0xC3 continuations at chunk size 128.
var capturedConnects = []struct {
	name   string
	hex    string
	length uint32
}{
	{"ffmpeg publish", "0300000000008c1400000000020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e707269766174650008666c617368566572020024464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e313030290005746355726c02001b72746d703a2f2f3132372e302e302e313a31c3393335312f6c697665000009", 140},
	{"rtmpdump play", "030000000000c61400000000020007636f6e6e656374003ff00000000000000300036170700200046c6976650008666c61736856657202000e4c4e582031302c302c33322c31380005746355726c02001b72746d703a2f2f3132372e302e302e313a31393335322f6c6976650004667061640100000c6361706162696c697469657300402e00000000000000c30b617564696f436f646563730040a8ee0000000000000b766964656f436f6465637300406f800000000000000d766964656f46756e6374696f6e003ff0000000000000000009", 198},
}

func TestCapturedConnects(t *testing.T) {
	t.Parallel()
	for _, c := range capturedConnects {
		b := unhex(c.hex)
		r := newTestReader(b)
		h, p, err := r.ReadMessage()
		want := Header{CSID: 3, Length: c.length, TypeID: 20}
		if err != nil || h != want || len(p) != int(c.length) || !bytes.HasPrefix(p, []byte("\x02\x00\x07connect")) {
			t.Fatalf("%s: %+v %v", c.name, h, err)
		}
		if p[len(p)-1] != 9 || r.BytesRead() != uint64(len(b)) {
			t.Fatalf("%s: payload ends %x, read %d of %d", c.name, p[len(p)-3:], r.BytesRead(), len(b))
		}
	}
}

// TestSetSourceMidStream: a connection that swaps its buffered reader between messages (as an
// idle connection does when it hands its read buffer back) loses nothing, even with another
// chunk stream's message half assembled across the swap; reassembly buffers released while idle
// are taken back as bytes arrive.
func TestSetSourceMidStream(t *testing.T) {
	t.Parallel()
	parts := []string{
		"06 000000 000082 09 01000000" + rep(0x11, 128) + // csid 6: 128 of 130 bytes
			"04 000001 000001 08 01000000 22", // csid 4: complete
		"c6 1111" + // csid 6: the last 2 bytes
			"04 000002 000003 08 01000000 334455", // csid 4 again
	}
	want := []struct {
		csid, ts uint32
		payload  string
	}{{4, 1, "22"}, {6, 0, rep(0x11, 130)}, {4, 2, "334455"}}
	r := NewReader(nil, DefaultLimits())
	n := 0
	for _, p := range parts {
		r.SetSource(bufio.NewReader(bytes.NewReader(unhex(p))))
		for {
			h, payload, err := r.ReadMessage()
			if errors.Is(err, io.EOF) {
				break // a clean end between messages: where a connection goes idle
			}
			if err != nil || n == len(want) {
				t.Fatalf("message %d: %+v %v", n, h, err)
			}
			w := want[n]
			if h.CSID != w.csid || h.Timestamp != w.ts || !bytes.Equal(payload, unhex(w.payload)) {
				t.Fatalf("message %d: %+v %x", n, h, payload)
			}
			n++
			r.ReleaseIdle()
		}
	}
	if n != len(want) || r.held != 0 {
		t.Fatalf("%d of %d messages, %d bytes of buffers still held", n, len(want), r.held)
	}
	if cs := r.streams.get(4); cs.buf != nil {
		t.Fatal("an idle chunk stream kept its reassembly buffer")
	}
}
