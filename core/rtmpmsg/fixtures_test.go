package rtmpmsg

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// Real connect commands captured on this machine from the installed clients (a Python listener
// answering a plain handshake, raw bytes after C2): one fmt-0 chunk on csid 3 and, at chunk size
// 128, a 0xC3 continuation header after every 128 payload bytes.
var capturedConnects = []struct {
	name, hex, app, flashVer string
}{
	{"ffmpeg 5.1 publish (FMLE flashVer, type nonprivate)",
		"0300000000008c1400000000020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e707269766174650008666c617368566572020024464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e313030290005746355726c02001b72746d703a2f2f3132372e302e302e313a31c3393335312f6c697665000009",
		"live", "FMLE/3.0 (compatible; Lavf59.27.100)"},
	{"ffmpeg 5.1 play",
		"030000000000c31400000000020007636f6e6e656374003ff0000000000000030003617070020003766f640008666c61736856657202000d4c4e5820392c302c3132342c320005746355726c02001a72746d703a2f2f3132372e302e302e313a31393335332f766f640004667061640100000c6361706162696c697469657300402e000000000000000b6175c364696f436f646563730040afce0000000000000b766964656f436f6465637300406f800000000000000d766964656f46756e6374696f6e003ff0000000000000000009",
		"vod", "LNX 9,0,124,2"},
	{"rtmpdump 2.4 (librtmp) play",
		"030000000000c61400000000020007636f6e6e656374003ff00000000000000300036170700200046c6976650008666c61736856657202000e4c4e582031302c302c33322c31380005746355726c02001b72746d703a2f2f3132372e302e302e313a31393335322f6c6976650004667061640100000c6361706162696c697469657300402e00000000000000c30b617564696f436f646563730040a8ee0000000000000b766964656f436f6465637300406f800000000000000d766964656f46756e6374696f6e003ff0000000000000000009",
		"live", "LNX 10,0,32,18"},
}

// dechunk128 strips the 12-byte fmt-0 header and the one-byte continuation headers.
func dechunk128(b []byte) []byte {
	b = b[12:]
	var out []byte
	for len(b) > 128 {
		out = append(out, b[:128]...)
		b = b[129:]
	}
	return append(out, b...)
}

func TestCapturedConnects(t *testing.T) {
	t.Parallel()
	var d amf.Decoder
	for _, c := range capturedConnects {
		p := dechunk128(unhex(c.hex))
		cmd, err := DecodeCommand(TypeCommandAMF0, p, &d)
		if err != nil || cmd.Name != "connect" || cmd.TxnID != 1 || len(cmd.Args) != 0 {
			t.Fatalf("%s: %+v %v", c.name, cmd, err)
		}
		o, ok := cmd.Object.(*amf.Object)
		if !ok || o.String("app") != c.app || o.String("flashVer") != c.flashVer {
			t.Fatalf("%s: object %#v", c.name, cmd.Object)
		}
	}
}

// AppendCommand's type-17 layout, byte for byte: 0x00, AMF0 name and txn, AMF0 null object,
// switched arguments.
func TestAppendCommandAMF3Layout(t *testing.T) {
	t.Parallel()
	var e amf.Encoder
	got, err := AppendCommand(nil, &e, true, "echo", 2, nil, "hi")
	want := unhex("00 0200046563686f 00 4000000000000000 05 11 06 05 6869")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got  %x %v\nwant %x", got, err, want)
	}
	if _, err := AppendCommand(nil, &e, false, "x", 0, make(chan int)); err == nil {
		t.Fatal("unencodable object: want error")
	}
}

var userControlFixtures = []struct {
	name string
	hex  string
	want UserControl
	err  bool
}{
	{"StreamBegin 1", "0000 00000001", UserControl{Event: EventStreamBegin, Data: 1}, false},
	{"StreamEOF", "0001 00000001", UserControl{Event: EventStreamEOF, Data: 1}, false},
	{"SetBufferLength (ffmpeg play: stream 1, 3000 ms)", "0003 00000001 00000bb8", UserControl{Event: EventSetBufferLength, Data: 1, Data2: 3000}, false},
	{"PingRequest", "0006 0001e240", UserControl{Event: EventPingRequest, Data: 123456}, false},
	{"PingResponse", "0007 0001e240", UserControl{Event: EventPingResponse, Data: 123456}, false},
	{"BufferEmpty (Flash)", "001f 00000001", UserControl{Event: EventBufferEmpty, Data: 1}, false},
	{"BufferReady (Flash)", "0020 00000001", UserControl{Event: EventBufferReady, Data: 1}, false},
	{"SWF verify request without data", "001a", UserControl{Event: EventSWFVerifyRequest}, false},
	{"one byte", "00", UserControl{}, true},
}

func TestUserControlFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range userControlFixtures {
		uc, err := ParseUserControl(unhex(f.hex))
		if (err != nil) != f.err || uc != f.want {
			t.Errorf("%s: %+v %v", f.name, uc, err)
		}
	}
	got := AppendUserControl(nil, EventSetBufferLength, 1, 3000)
	if !bytes.Equal(got, unhex("0003 00000001 00000bb8")) {
		t.Errorf("AppendUserControl %x", got)
	}
}

func TestControlFixtures(t *testing.T) {
	t.Parallel()
	b := AppendAbort(nil, 6)
	b = AppendAck(b, 0xFFFFFFFF)
	b = AppendWindowAckSize(b, 2500000)
	if !bytes.Equal(b, unhex("00000006 ffffffff 002625a0")) {
		t.Fatalf("%x", b)
	}
	if n, err := ParseAbort(b); err != nil || n != 6 {
		t.Fatal(n, err)
	}
	if n, err := ParseAck(b[4:]); err != nil || n != 0xFFFFFFFF {
		t.Fatal(n, err)
	}
	if n, err := ParseWindowAckSize(b[8:]); err != nil || n != 2500000 {
		t.Fatal(n, err)
	}
	if _, _, err := ParseSetPeerBandwidth(unhex("002625a0")); !errors.Is(err, ErrShort) {
		t.Fatal(err)
	}
	if _, err := ParseSetChunkSize(unhex("80001000")); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if n, err := ParseSetChunkSize(unhex("7fffffff")); err != nil || n != 1<<31-1 {
		t.Fatal(n, err)
	}
}

type aggSub struct {
	typeID uint8
	ts     uint32
	body   string
}

var aggregateFixtures = []struct {
	name string
	ts   uint32
	hex  string
	want []aggSub
	err  bool
}{
	{"video then audio (FMS recorded playback)", 1000, "09 000002 000064 00 000000 1700 0000000d" + "08 000001 000078 00 000000 af 0000000c",
		[]aggSub{{9, 1000, "1700"}, {8, 1020, "af"}}, false},
	{"extended timestamp byte", 5, "09 000001 000010 01 000000 17 0000000c" + "09 000001 000030 01 000000 27 0000000c",
		[]aggSub{{9, 5, "17"}, {9, 0x25, "27"}}, false},
	{"last previous tag size missing", 0, "08 000001 000000 00 000000 af",
		[]aggSub{{8, 0, "af"}}, false},
	{"empty aggregate", 0, "", nil, false},
	{"truncated tag header", 0, "09 000001 0000", nil, true},
	{"body longer than payload", 0, "09 ffffff 000000 00 000000 00", nil, true},
	{"garbage tail", 0, "08 000001 000000 00 000000 af 0000000c 0102", []aggSub{{8, 0, "af"}}, true},
}

func TestAggregateFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range aggregateFixtures {
		var got []aggSub
		err := SplitAggregate(f.ts, unhex(f.hex), func(typeID uint8, ts uint32, body []byte) error {
			got = append(got, aggSub{typeID, ts, string(body)})
			return nil
		})
		if (err != nil) != f.err || len(got) != len(f.want) {
			t.Errorf("%s: %+v %v", f.name, got, err)
			continue
		}
		for i := range got {
			if w := f.want[i]; got[i].typeID != w.typeID || got[i].ts != w.ts || got[i].body != string(unhex(w.body)) {
				t.Errorf("%s: sub %d = %+v, want %+v", f.name, i, got[i], w)
			}
		}
	}
	stop := errors.New("stop")
	err := SplitAggregate(0, unhex(aggregateFixtures[0].hex), func(uint8, uint32, []byte) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("callback error not returned: %v", err)
	}
}

var sharedObjectFixtures = []struct {
	name   string
	typeID uint8
	hex    string
	events int
	err    bool
}{
	{"connect + set property", 19, "0004 726f6f6d 00000005 00000002 00000000 01 00000000 03 0000000a 0003 6b6579 02 0002 6869", 2, false},
	{"type 16 format byte 0", 16, "00 0004 726f6f6d 00000000 00000000 00000000 01 00000000", 1, false},
	{"type 16 format byte 3", 16, "03 0004 726f6f6d 00000000 00000000 00000000", 0, false},
	{"type 16 bad format byte", 16, "05 0004 726f6f6d 00000000 00000000 00000000", 0, true},
	{"name longer than payload", 19, "00ff 726f6f6d", 0, true},
	{"event length past the end", 19, "0004 726f6f6d 00000005 00000002 00000000 03 ffffffff 00", 0, true},
	{"event header cut", 19, "0004 726f6f6d 00000005 00000002 00000000 03 0000", 0, true},
}

func TestSharedObjectFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range sharedObjectFixtures {
		m, err := DecodeSharedObject(f.typeID, unhex(f.hex))
		if (err != nil) != f.err || (err == nil && (m.Name != "room" || len(m.Events) != f.events)) {
			t.Errorf("%s: %+v %v", f.name, m, err)
		}
	}
	many := unhex("0001 61 00000000 00000000 00000000")
	for range MaxSharedObjectEvents + 1 {
		many = append(many, 1, 0, 0, 0, 0)
	}
	if _, err := DecodeSharedObject(19, many); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too many events: %v", err)
	}
}

func BenchmarkDecodeCommandPlay(b *testing.B) {
	p := enc0("play", 0.0, nil, "test", -2.0, -1.0, true)
	var d amf.Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCommand(TypeCommandAMF0, p, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendCommandOnStatus(b *testing.B) {
	var e amf.Encoder
	info := obj("level", "status", "code", "NetStream.Play.Start", "description", "Started playing test.")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendCommand(buf[:0], &e, false, "onStatus", 0, nil, info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitAggregate(b *testing.B) {
	p := unhex(aggregateFixtures[0].hex)
	fn := func(uint8, uint32, []byte) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = SplitAggregate(0, p, fn)
	}
}
