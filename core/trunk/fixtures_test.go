package trunk

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// unhex reads a fixture written as spaced hex groups.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

type fixture struct {
	name string
	id   uint32
	msg  Message
	wire string // length | kind | id | body
}

// fixtures holds one frame of every kind, written out by hand from docs/trunk.md's layouts.
var fixtures = []fixture{
	{"server-hello", 0, ServerHello{Magic: Magic, MinVersion: 1, MaxVersion: 1, Flags: FlagAuth, MaxFrame: 0x01000400, Nonce: [32]byte{1, 2, 3}, ServerID: "o1"},
		"00000036 01 00000000 464d544b 0001 0001 01 01000400 010203" + strings.Repeat("00", 29) + " 0002 6f31"},
	{"hello", 0, Hello{Magic: Magic, Version: 1, Flags: FlagAuth, MaxFrame: 4096, Nonce: [32]byte{9}, EdgeID: "e1", MAC: [32]byte{0xAA}},
		"00000054 02 00000000 464d544b 0001 01 00001000 09" + strings.Repeat("00", 31) + " 0002 6531 aa" + strings.Repeat("00", 31)},
	{"hello-ack", 0, HelloAck{Version: 1, MAC: [32]byte{0xBB}},
		"00000027 03 00000000 0001 bb" + strings.Repeat("00", 31)},
	{"ping", 0, Ping{Time: 0x0102030405060708}, "0000000d 04 00000000 0102030405060708"},
	{"pong", 0, Pong{Time: 42}, "0000000d 05 00000000 000000000000002a"},
	{"error", 0, ErrorMsg{Code: CodeAuth, Message: "bad"}, "0000000c 06 00000000 0002 0003 626164"},
	{"session-open", 7, SessionOpen{Window: 65536, EdgeID: "e", ClientAddr: "1.2.3.4:5", Protocol: "rtmp", Agent: "FMLE",
		Referrer: "r", PageURL: "p", Command: []byte{0x03, 0, 0, 9}, Args: []byte{0x05}},
		"00000032 10 00000007 00010000 0001 65 0009 312e322e332e343a35 0004 72746d70 0004 464d4c45 0001 72 0001 70 00000004 03000009 05"},
	{"session-verdict", 7, SessionVerdict{Window: 1024, Status: VerdictAccept, Info: []byte{0x05}}, "0000000c 11 00000007 00000400 01 00 05"},
	{"session-verdict no onBWDone", 7, SessionVerdict{Window: 1024, Status: VerdictAccept, Flags: VerdictNoBWDone, Info: []byte{0x05}},
		"0000000c 11 00000007 00000400 01 01 05"},
	{"session-close", 7, SessionClose{Code: CodeClientGone, Reason: "bye"}, "0000000c 12 00000007 0006 0003 627965"},
	{"session-message", 7, SessionMessage{Type: 20, StreamID: 1, Timestamp: 2, Payload: []byte{0x02, 0, 1, 'x'}},
		"00000012 13 00000007 14 00000001 00000002 02000178"},
	{"session-ack", 7, SessionAck{Bytes: 300}, "00000009 14 00000007 0000012c"},
	{"stream-subscribe", 3, StreamSubscribe{App: "live/_definst_", Stream: "s"}, "00000018 20 00000003 000e 6c6976652f5f646566696e73745f 0001 73"},
	{"stream-unsubscribe", 3, StreamUnsubscribe{}, "00000005 21 00000003"},
	{"stream-status", 3, StreamStatus{Code: StreamNotFound, Description: "no"}, "0000000b 22 00000003 0001 0002 6e6f"},
	{"stream-media", 3, StreamMedia{Type: 9, Timestamp: 0x01020304, Payload: []byte{0x17, 0x01}}, "0000000c 23 00000003 09 01020304 1701"},
	{"stream-publish", 4, StreamPublish{Session: 7, StreamID: 1, App: "live/i", Stream: "s", Mode: "live"},
		"0000001e 24 00000004 00000007 00000001 0006 6c6976652f69 0001 73 0004 6c697665"},
	{"stream-verdict play", 7, StreamVerdict{StreamID: 1, Op: OpPlayStart, Flags: StreamFlagReset, Stream: "s",
		Messages: []VerdictMessage{{Type: 20, Payload: []byte{0x05}}}}, "00000015 15 00000007 00000001 01 01 0001 73 01 14 00000001 05"},
	{"stream-verdict pause", 7, StreamVerdict{StreamID: 2, Op: OpPause, Flags: StreamFlagOn}, "0000000e 15 00000007 00000002 05 01 0000 00"},
	{"stream-gap", 4, StreamGap{Dropped: 300}, "00000009 25 00000004 0000012c"},
}

func TestFixturesEncode(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			got := AppendFrame([]byte{0xEE}, fx.id, fx.msg)[1:]
			if want := unhex(fx.wire); !bytes.Equal(got, want) {
				t.Fatalf("encode\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestFixturesDecode(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			wire := unhex(fx.wire)
			f, rest, err := DecodeFrame(wire, DefaultMaxFrame)
			if err != nil || len(rest) != 0 || f.ID != fx.id || f.Kind != fx.msg.Kind() {
				t.Fatalf("frame: %+v rest %d err %v", f, len(rest), err)
			}
			m, err := DecodeMessage(f)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(m, fx.msg) {
				t.Fatalf("decode\n got %#v\nwant %#v", m, fx.msg)
			}
			// The streaming reader agrees with the slice decoder.
			rf, err := NewReader(bufio.NewReader(bytes.NewReader(wire)), 0).ReadFrame()
			if err != nil || rf.Kind != f.Kind || !bytes.Equal(rf.Body, f.Body) {
				t.Fatalf("reader: %+v %v", rf, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, wire string
		max        int
		want       error
	}{
		{"length below header", "00000004 04 00000000", DefaultMaxFrame, ErrFrameShort},
		{"length above limit", "00001001 23 00000001", HandshakeMaxFrame, ErrFrameTooLarge},
		{"huge length, tiny input", "ffffffff 23 00000001", DefaultMaxFrame, ErrFrameTooLarge},
		{"truncated body", "0000000d 04 00000000 0102", DefaultMaxFrame, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewReader(bufio.NewReader(bytes.NewReader(unhex(c.wire))), c.max).ReadFrame()
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestBodyRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kind Kind
		body string
	}{
		{"ping short", KindPing, "0102"},
		{"ping trailing", KindPing, "010203040506070809"},
		{"string past end", KindError, "0001 0010 41"},
		{"blob past end", KindSessionOpen, "00010000 0000 0000 0000 0000 0000 0000 ffffffff 03"},
		{"media without timestamp", KindStreamMedia, "09 0102"},
		{"verdict without status", KindSessionVerdict, "00000400"},
		{"verdict without flags", KindSessionVerdict, "00000400 01"},
		{"stream verdict, unknown op", KindStreamVerdict, "00000001 09 00 0000 00"},
		{"stream verdict, too many messages", KindStreamVerdict, "00000001 01 00 0000 09"},
		{"stream verdict, message past end", KindStreamVerdict, "00000001 01 00 0000 01 14 00000005 05"},
		{"stream verdict without count", KindStreamVerdict, "00000001 01 00 0000"},
		{"hello short mac", KindHello, "464d544b 0001 01 00001000" + strings.Repeat("00", 32) + "0000 aa"},
		{"unsubscribe with body", KindStreamUnsubscribe, "00"},
		{"gap short", KindStreamGap, "000001"},
		{"gap trailing", KindStreamGap, "0000000100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := DecodeMessage(Frame{Kind: c.kind, Body: unhex(c.body)}); err == nil {
				t.Fatal("accepted a malformed body")
			}
		})
	}
}

func TestUnknownKindIsSkipped(t *testing.T) {
	t.Parallel()
	m, err := DecodeMessage(Frame{Kind: 0x7F, Body: []byte{1, 2, 3}})
	if m != nil || err != nil || Kind(0x7F).Known() {
		t.Fatalf("unknown kind: %v %v", m, err)
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame reader and every body decoder: no panic,
// no allocation beyond the limit, and whatever decodes re-encodes to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(unhex(fx.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := NewReader(bufio.NewReader(bytes.NewReader(b)), HandshakeMaxFrame).ReadFrame()
		if err != nil {
			return
		}
		m, err := DecodeMessage(fr)
		if err != nil || m == nil {
			return
		}
		again := AppendFrame(nil, fr.ID, m)
		if want := b[:len(again)]; !bytes.Equal(again, want) {
			t.Fatalf("re-encode differs\n got %x\nwant %x", again, want)
		}
	})
}
