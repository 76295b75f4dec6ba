package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
)

type wantMsg struct {
	typeID   uint8
	streamID uint32
	ts       uint32
	length   uint32
	head     string
	payload  string
}

// chunked writes messages with core/chunk's writer (fmt 0 headers, type 3 continuations).
func chunked(chunkSize uint32, msgs ...wantMsg) []byte {
	w := chunk.NewWriter()
	w.SetChunkSize(chunkSize)
	var out bytes.Buffer
	for i, m := range msgs {
		body := []byte(m.payload)
		if len(body) == 0 {
			body = append([]byte(m.head), make([]byte, int(m.length)-len(m.head))...)
		}
		bufs := w.Append(nil, chunk.Header{CSID: uint32(4 + i%3), Timestamp: m.ts, TypeID: m.typeID, StreamID: m.streamID}, body)
		_, _ = bufs.WriteTo(&out)
		w.Reset()
	}
	return out.Bytes()
}

var (
	video300 = wantMsg{typeID: 9, streamID: 1, ts: 40, length: 300, head: "\x17\x01"}
	audio10  = wantMsg{typeID: 8, streamID: 1, ts: 60, length: 10, head: "\xaf\x01"}
	command  = wantMsg{typeID: 20, streamID: 0, ts: 0, length: 200, payload: string(bytes.Repeat([]byte("c"), 200))}
	extTS    = wantMsg{typeID: 9, streamID: 1, ts: 0x1000000, length: 300, head: "\x27\x01"}
)

// handmade: fmt 1, 2 and 3 headers, and 2- and 3-byte basic headers.
func handmade() []byte {
	var b []byte
	b = append(b, 0x00, 70-64, 0, 0, 10, 0, 0, 2, 9, 1, 0, 0, 0, 0x17, 1)  // fmt 0, csid 70, ts 10, 2-byte video
	b = append(b, 0x40|0, 70-64, 0, 0, 30, 0, 0, 2, 8, 0xaf, 1)            // fmt 1: delta 30, audio
	b = append(b, 0x80|0, 70-64, 0, 0, 5, 0xaf, 2)                         // fmt 2: delta 5
	b = append(b, 0xC0|0, 70-64, 0xaf, 3)                                  // fmt 3: delta 5 again
	b = append(b, 0x01, 0x10, 0x01, 0, 0, 1, 0, 0, 1, 9, 2, 0, 0, 0, 0x27) // csid 64+16+256 = 336
	return b
}

var handmadeWant = []wantMsg{
	{typeID: 9, streamID: 1, ts: 10, length: 2, head: "\x17\x01"},
	{typeID: 8, streamID: 1, ts: 40, length: 2, head: "\xaf\x01"},
	{typeID: 8, streamID: 1, ts: 45, length: 2, head: "\xaf\x02"},
	{typeID: 8, streamID: 1, ts: 50, length: 2, head: "\xaf\x03"},
	{typeID: 9, streamID: 2, ts: 1, length: 1, head: "\x27"},
}

// withoutContinuationExt strips the 4-byte extended timestamp from type 3 continuation chunks,
// as OBS before 2024 and rtmpdump write them.
func withoutContinuationExt(b []byte, chunkSize int) []byte {
	first := 1 + 11 + 4 + chunkSize
	out := append([]byte(nil), b[:first]...)
	for rest := b[first:]; len(rest) > 0; {
		n := min(chunkSize, len(rest)-5)
		out = append(out, rest[0])
		out = append(out, rest[5:5+n]...)
		rest = rest[5+n:]
	}
	return out
}

type rawCase struct {
	name      string
	in        []byte
	chunkSize uint32
	want      []wantMsg
	wantErr   error // after the messages
}

func rawCases() []rawCase {
	withExt := chunked(128, extTS)
	return []rawCase{
		{"media and command, 128", chunked(128, video300, audio10, command), 128, []wantMsg{video300, audio10, command}, io.EOF},
		{"media and command, 4096", chunked(4096, video300, audio10, command), 4096, []wantMsg{video300, audio10, command}, io.EOF},
		{"handmade header forms", handmade(), 128, handmadeWant, io.EOF},
		{"extended timestamp on continuations", withExt, 128, []wantMsg{extTS}, io.EOF},
		{"extended timestamp not repeated", withoutContinuationExt(withExt, 128), 128, []wantMsg{extTS}, io.EOF},
		{"truncated", chunked(128, video300)[:200], 128, nil, io.ErrUnexpectedEOF},
		{"huge command", []byte{3, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0}, 128, nil, errBadChunk},
		{"empty", nil, 128, nil, io.EOF},
	}
}

func readAll(in []byte, chunkSize uint32) ([]wantMsg, error) {
	r := newRawReader(bufio.NewReaderSize(bytes.NewReader(in), 4096))
	r.chunkSize = chunkSize
	var got []wantMsg
	for {
		m, err := r.next()
		if err != nil {
			return got, err
		}
		w := wantMsg{typeID: m.typeID, streamID: m.streamID, ts: m.ts, length: m.length, head: string(m.head)}
		if !isMedia(m.typeID) {
			w.payload = string(m.payload)
		}
		got = append(got, w)
	}
}

func TestRawReader(t *testing.T) {
	t.Parallel()
	for _, tc := range rawCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(tc.in, tc.chunkSize)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == io.ErrUnexpectedEOF && errors.Is(err, io.EOF)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("message %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestRawReaderChunkStreamFlood(t *testing.T) {
	t.Parallel()
	var b []byte
	for i := range maxChunkStreams + 1 {
		b = append(b, 0x01, byte(i), byte(i>>8), 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xaf)
	}
	if _, err := readAll(b, 128); !errors.Is(err, errBadChunk) {
		t.Fatalf("err = %v", err)
	}
}

// The players' read path must not allocate per message.
func TestRawReaderZeroAlloc(t *testing.T) {
	in := bytes.Repeat(chunked(4096, video300, audio10), 200)
	rd := bytes.NewReader(in)
	r := newRawReader(bufio.NewReaderSize(rd, 64<<10))
	r.chunkSize = 4096
	if _, err := r.next(); err != nil { // warm up: chunk stream state
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

func BenchmarkRawReader(b *testing.B) {
	msg := chunked(4096, wantMsg{typeID: 9, streamID: 1, ts: 40, length: 10000, head: "\x27\x01"})
	in := bytes.Repeat(msg, 100)
	rd := bytes.NewReader(in)
	br := bufio.NewReaderSize(rd, 64<<10)
	r := newRawReader(br)
	r.chunkSize = 4096
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := r.next(); err != nil {
			rd.Reset(in)
			br.Reset(rd)
		}
	}
}

func FuzzRawReader(f *testing.F) {
	for _, tc := range rawCases() {
		f.Add(tc.in, tc.chunkSize)
	}
	f.Fuzz(func(t *testing.T, in []byte, chunkSize uint32) {
		if chunkSize == 0 || chunkSize > 1<<20 {
			chunkSize = 128
		}
		got, _ := readAll(in, chunkSize)
		for _, m := range got {
			if len(m.head) > 2 || (!isMedia(m.typeID) && uint32(len(m.payload)) != m.length) {
				t.Fatalf("inconsistent message %+v", m)
			}
		}
	})
}

func TestIsKeyframe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		head string
		want bool
	}{
		{"\x17\x01", true},  // AVC keyframe NALU
		{"\x17\x00", false}, // AVC sequence header
		{"\x27\x01", false}, // AVC inter frame
		{"\x12", true},      // Sorenson keyframe
		{"\x1c\x01", true},  // legacy HEVC (codec 12) keyframe
		{"\x1c\x00", false}, // legacy HEVC sequence header
		{"\x91hv", true},    // enhanced RTMP keyframe, CodedFrames
		{"\x93hv", true},    // enhanced RTMP keyframe, CodedFramesX
		{"\x90hv", false},   // enhanced SequenceStart
		{"\xa1hv", false},   // enhanced inter frame
		{"", false},
	}
	for _, tc := range cases {
		if got := isKeyframe([]byte(tc.head)[:min(2, len(tc.head))]); got != tc.want {
			t.Errorf("isKeyframe(%x) = %v", tc.head, got)
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	cases := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{d, 0.5, 50}, {d, 0.99, 99}, {d, 1, 100}, {d[:1], 0.99, 1}, {nil, 0.5, 0},
	}
	for _, tc := range cases {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tc.in), tc.p, got, tc.want)
		}
	}
}
