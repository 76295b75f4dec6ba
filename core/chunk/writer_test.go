package chunk

import (
	"bufio"
	"bytes"
	"net"
	"testing"
)

// writerFixtures: exact bytes the writer produces (chunk size 4 to show continuations cheaply).
var writerFixtures = []struct {
	name    string
	h       Header
	payload string
	hex     string
}{
	{"csid 2 zero length", Header{CSID: 2, TypeID: 4}, "", "02 000000 000000 04 00000000"},
	{"csid 63", Header{CSID: 63, Timestamp: 1, TypeID: 20, StreamID: 1}, "aa", "3f 000001 000001 14 01000000 aa"},
	{"csid 64: 2-byte basic header", Header{CSID: 64, TypeID: 9}, "aa", "00 00 000000 000001 09 00000000 aa"},
	{"csid 319: 2-byte basic header", Header{CSID: 319, TypeID: 9}, "aa", "00 ff 000000 000001 09 00000000 aa"},
	{"csid 320: 3-byte basic header", Header{CSID: 320, TypeID: 9}, "aabbccddee", "01 0001 000000 000005 09 00000000 aabbccdd c1 0001 ee"},
	{"csid 65599", Header{CSID: 65599, TypeID: 9}, "aa", "01 ffff 000000 000001 09 00000000 aa"},
	{"stream id little-endian", Header{CSID: 4, TypeID: 8, StreamID: 0x01020304}, "aa", "04 000000 000001 08 04030201 aa"},
	{"timestamp 0xFFFFFE stays in 3 bytes", Header{CSID: 4, Timestamp: 0xFFFFFE, TypeID: 8}, "aabbccddee", "04 fffffe 000005 08 00000000 aabbccdd c4 ee"},
	{"timestamp 0xFFFFFF is extended, repeated on continuations", Header{CSID: 4, Timestamp: 0xFFFFFF, TypeID: 8}, "aabbccddeeff0011aa",
		"04 ffffff 000009 08 00000000 00ffffff aabbccdd c4 00ffffff eeff0011 c4 00ffffff aa"},
}

func TestWriterFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range writerFixtures {
		w := NewWriter()
		w.SetChunkSize(4)
		var out bytes.Buffer
		bufs := w.Append(nil, f.h, unhex(f.payload))
		if _, err := bufs.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		if want := unhex(f.hex); !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s:\n got  %x\n want %x", f.name, out.Bytes(), want)
		}
		// And the reader agrees.
		r := NewReader(bufio.NewReader(&out), DefaultLimits())
		_ = r.SetChunkSize(4)
		h, p, err := r.ReadMessage()
		f.h.Length = uint32(len(f.payload) / 2)
		if err != nil || h != f.h || !bytes.Equal(p, unhex(f.payload)) {
			t.Errorf("%s: read back %+v %x %v", f.name, h, p, err)
		}
	}
}

func TestWriterChunkSize(t *testing.T) {
	t.Parallel()
	w := NewWriter()
	if w.ChunkSize() != 128 {
		t.Fatalf("default %d", w.ChunkSize())
	}
	w.SetChunkSize(0) // ignored
	w.SetChunkSize(1 << 31)
	if w.ChunkSize() != 128 {
		t.Fatalf("invalid size applied: %d", w.ChunkSize())
	}
	w.SetChunkSize(1<<31 - 1)
	if w.ChunkSize() != 1<<31-1 {
		t.Fatalf("max size refused: %d", w.ChunkSize())
	}
}

// TestWriterPayloadReferenced: payload bytes are not copied, so a change shows through.
func TestWriterPayloadReferenced(t *testing.T) {
	t.Parallel()
	w := NewWriter()
	payload := make([]byte, 300)
	bufs := w.Append(nil, Header{CSID: 6, TypeID: 9}, payload)
	payload[0], payload[299] = 1, 2
	var found int
	for _, b := range bufs {
		if len(b) > 0 && (&b[0] == &payload[0] || &b[len(b)-1] == &payload[299]) {
			found++
		}
	}
	if found != 2 || len(bufs) != 6 {
		t.Fatalf("found %d aliases in %d buffers", found, len(bufs))
	}
}

// TestWriterInterleavedRoundTrip: two chunk streams written one after another and reset between
// batches read back intact with a reused reader, across the extended-timestamp boundary.
func TestWriterInterleavedRoundTrip(t *testing.T) {
	t.Parallel()
	w := NewWriter()
	w.SetChunkSize(100)
	pr, pw := net.Pipe()
	defer pr.Close()
	r := NewReader(bufio.NewReader(pr), DefaultLimits())
	_ = r.SetChunkSize(100)
	stamps := []uint32{0, 40, 0xFFFFF0, 0xFFFFFF, 0x1000020, 0xFFFFFFF0, 5}
	go func() {
		defer pw.Close()
		for i, ts := range stamps {
			bufs := w.Append(nil, Header{CSID: 6, Timestamp: ts, TypeID: 9, StreamID: 1}, bytes.Repeat([]byte{byte(i)}, 250+i))
			bufs = w.Append(bufs, Header{CSID: 4, Timestamp: ts, TypeID: 8, StreamID: 1}, bytes.Repeat([]byte{byte(i)}, 50))
			if _, err := bufs.WriteTo(pw); err != nil {
				return
			}
			w.Reset()
		}
	}()
	for i, ts := range stamps {
		for _, want := range []struct {
			csid uint32
			n    int
		}{{6, 250 + i}, {4, 50}} {
			h, p, err := r.ReadMessage()
			if err != nil || h.CSID != want.csid || h.Timestamp != ts || len(p) != want.n || p[0] != byte(i) {
				t.Fatalf("message %d csid %d: %+v %v", i, want.csid, h, err)
			}
		}
	}
}
