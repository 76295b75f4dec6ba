package rtmpmsg

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func enc0(vals ...any) []byte {
	var e amf.Encoder
	var b []byte
	for _, v := range vals {
		b, _ = e.AppendAMF0(b, v)
	}
	return b
}

func obj(kv ...any) *amf.Object {
	o := &amf.Object{}
	for i := 0; i < len(kv); i += 2 {
		o.Props = append(o.Props, amf.Prop{Key: kv[i].(string), Value: kv[i+1]})
	}
	return o
}

// commandFixtures are shaped like what real clients send (CLIENTS.md).
var commandFixtures = []struct {
	name    string
	typeID  uint8
	payload []byte
	want    string // name
	txn     float64
	nargs   int
}{
	{"OBS connect (nonprivate, FMLE flashVer, no objectEncoding)", 20, enc0("connect", 1.0,
		obj("app", "live", "type", "nonprivate", "flashVer", "FMLE/3.0 (compatible; FMSc/1.0)", "swfUrl", "rtmp://h/live", "tcUrl", "rtmp://h/live")), "connect", 1, 0},
	{"ffmpeg connect", 20, enc0("connect", 1.0, obj("app", "live", "flashVer", "LNX 9,0,124,2", "tcUrl", "rtmp://h:1935/live",
		"fpad", false, "capabilities", 15.0, "audioCodecs", 4071.0, "videoCodecs", 252.0, "videoFunction", 1.0)), "connect", 1, 0},
	{"connect with extra args", 20, enc0("connect", 1.0, obj("app", "chat"), "alice", 7.0, obj("k", "v")), "connect", 1, 3},
	{"releaseStream", 20, enc0("releaseStream", 2.0, nil, "test"), "releaseStream", 2, 1},
	{"FCPublish", 20, enc0("FCPublish", 3.0, nil, "test"), "FCPublish", 3, 1},
	{"createStream", 20, enc0("createStream", 4.0, nil), "createStream", 4, 0},
	{"publish", 20, enc0("publish", 5.0, nil, "test?key=k", "live"), "publish", 5, 2},
	{"play", 20, enc0("play", 0.0, nil, "test", -2.0, -1.0, true), "play", 0, 4},
	{"bare name", 20, enc0("onBWDone"), "onBWDone", 0, 0},
	{"Flex connect as type 17", 17, append([]byte{0}, enc0("connect", 1.0, obj("app", "live", "objectEncoding", 3.0))...), "connect", 1, 0},
	{"type 17 without the format byte (tolerated)", 17, enc0("deleteStream", 6.0, nil, 1.0), "deleteStream", 6, 1},
	{"Flash publish as type 17 (object null, name switched)", 17, append([]byte{0}, unhex("0200077075626c697368 00 4014000000000000 05 11 06 09 74657374 11 06 09 6c697665")...), "publish", 5, 2},
	{"AMF3 call with switched args", 17, append([]byte{0}, unhex("02000465 63686f 00 4000000000000000 05 11 06 05 6869")...), "echo", 2, 1},
}

func TestDecodeCommandFixtures(t *testing.T) {
	t.Parallel()
	var d amf.Decoder
	for _, f := range commandFixtures {
		cmd, err := DecodeCommand(f.typeID, f.payload, &d)
		if err != nil || cmd.Name != f.want || cmd.TxnID != f.txn || len(cmd.Args) != f.nargs {
			t.Errorf("%s: got %+v, %v", f.name, cmd, err)
		}
	}
	cmd, _ := DecodeCommand(20, commandFixtures[2].payload, &d)
	if cmd.Args[0] != "alice" || cmd.Args[1] != 7.0 {
		t.Errorf("extra args: %#v", cmd.Args)
	}
	cmd, _ = DecodeCommand(17, commandFixtures[len(commandFixtures)-2].payload, &d)
	if cmd.Args[0] != "test" || cmd.Args[1] != "live" || cmd.Object != nil {
		t.Errorf("Flash publish: %#v", cmd)
	}
	cmd, _ = DecodeCommand(17, commandFixtures[len(commandFixtures)-1].payload, &d)
	if cmd.Args[0] != "hi" {
		t.Errorf("switched arg: %#v", cmd.Args)
	}
}

func TestAppendCommandRoundTrip(t *testing.T) {
	t.Parallel()
	for _, amf3 := range []bool{false, true} {
		var e amf.Encoder
		b, err := AppendCommand(nil, &e, amf3, "_result", 1, obj("fmsVer", "FMS/3,5,7,7009"), obj("code", "NetConnection.Connect.Success"), amf.Undefined{})
		if err != nil {
			t.Fatal(err)
		}
		typeID := uint8(TypeCommandAMF0)
		if amf3 {
			typeID = TypeCommandAMF3
		}
		var d amf.Decoder
		cmd, err := DecodeCommand(typeID, b, &d)
		if err != nil || cmd.Name != "_result" || cmd.TxnID != 1 || len(cmd.Args) != 2 {
			t.Fatalf("amf3=%v: %+v %v", amf3, cmd, err)
		}
		if o := cmd.Args[0].(*amf.Object); o.String("code") != "NetConnection.Connect.Success" {
			t.Fatalf("info: %#v", o)
		}
	}
}

var dataFixtures = []struct {
	name    string
	typeID  uint8
	payload []byte
	want    string
}{
	{"@setDataFrame type 18", 18, enc0("@setDataFrame", "onMetaData", &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "width", Value: 320.0}}}), "@setDataFrame"},
	{"@setDataFrame type 15 with leading 0", 15, append([]byte{0}, enc0("@setDataFrame", "onMetaData", obj("width", 320.0))...), "@setDataFrame"},
	{"@setDataFrame type 15 with a switched AMF3 object", 15, append([]byte{0}, append(enc0("@setDataFrame", "onMetaData"), unhex("11 0a 0b 01 0b 77696474 68 04 8140 01")...)...), "@setDataFrame"},
	{"@setDataFrame type 15 without leading 0", 15, enc0("@setDataFrame", "onMetaData", obj("width", 320.0)), "@setDataFrame"},
}

func TestDecodeData(t *testing.T) {
	t.Parallel()
	var d amf.Decoder
	for _, f := range dataFixtures {
		data, err := DecodeData(f.typeID, f.payload, &d)
		if err != nil || data.Name != f.want || len(data.Args) != 2 || data.Args[0] != "onMetaData" {
			t.Errorf("%s: %+v %v", f.name, data, err)
		}
	}
	data, _ := DecodeData(15, dataFixtures[2].payload, &d)
	if o, ok := data.Args[1].(*amf.Object); !ok || o.Props[0].Key != "width" {
		t.Errorf("switched metadata: %#v", data.Args[1])
	}
}

func TestBadCommands(t *testing.T) {
	t.Parallel()
	var d amf.Decoder
	many := enc0("x", 0.0, nil)
	for i := 0; i < MaxArgs+1; i++ {
		many = append(many, 0x05)
	}
	for name, p := range map[string][]byte{
		"number name":  enc0(1.0),
		"truncated":    enc0("connect", 1.0)[:5],
		"too many":     many,
		"strict array": append(enc0("x", 0.0, nil), unhex("0a 7fffffff")...),
	} {
		if _, err := DecodeCommand(20, p, &d); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	if _, err := DecodeCommand(17, nil, &d); err == nil {
		t.Error("empty type 17: want error")
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	if n, err := ParseSetChunkSize(AppendSetChunkSize(nil, 4096)); err != nil || n != 4096 {
		t.Fatal(n, err)
	}
	for _, p := range [][]byte{unhex("80000000"), unhex("00000000"), unhex("0000")} {
		if _, err := ParseSetChunkSize(p); err == nil {
			t.Errorf("%x: want error", p)
		}
	}
	uc, err := ParseUserControl(AppendUserControl(nil, EventPingRequest, 1234))
	if err != nil || uc.Event != EventPingRequest || uc.Data != 1234 {
		t.Fatal(uc, err)
	}
	if n, lt, err := ParseSetPeerBandwidth(AppendSetPeerBandwidth(nil, 2500000, 2)); err != nil || n != 2500000 || lt != 2 {
		t.Fatal(n, lt, err)
	}
}

var aggregateFixture = unhex("09 000002 000064 00 000000 1700 0000000d" + "08 000001 000078 00 000000 af 0000000c")

func TestSplitAggregate(t *testing.T) {
	t.Parallel()
	type sub struct {
		typeID uint8
		ts     uint32
		n      int
	}
	var got []sub
	err := SplitAggregate(1000, aggregateFixture, func(typeID uint8, ts uint32, body []byte) error {
		got = append(got, sub{typeID, ts, len(body)})
		return nil
	})
	want := []sub{{9, 1000, 2}, {8, 1020, 1}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v %v", got, err)
	}
	if err := SplitAggregate(0, unhex("09 ffffff 00000000 000000 00"), func(uint8, uint32, []byte) error { return nil }); err == nil {
		t.Fatal("truncated tag: want error")
	}
}

var soFixture = unhex("0004 726f6f6d 00000005 00000002 00000000" + "01 00000000" + "03 0000000a 0003 6b6579 02 0002 6869")

func TestDecodeSharedObject(t *testing.T) {
	t.Parallel()
	m, err := DecodeSharedObject(19, soFixture)
	if err != nil || m.Name != "room" || m.Version != 5 || !m.Persistent() || len(m.Events) != 2 || m.Events[1].Type != 3 {
		t.Fatalf("%+v %v", m, err)
	}
	back := AppendSharedObject(nil, &m, false)
	if hex.EncodeToString(back) != hex.EncodeToString(soFixture) {
		t.Fatalf("re-encode %x", back)
	}
	m3, err := DecodeSharedObject(16, append([]byte{0}, soFixture...))
	if err != nil || m3.Name != "room" {
		t.Fatal(err)
	}
	if _, err := DecodeSharedObject(19, unhex("0004 726f6f6d 00000005 00000002 00000000 03 ffffffff 00")); err == nil {
		t.Fatal("bad event length: want error")
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, c := range commandFixtures {
		f.Add(c.typeID, c.payload)
	}
	for _, c := range capturedConnects {
		f.Add(uint8(TypeCommandAMF0), dechunk128(unhex(c.hex)))
	}
	f.Fuzz(func(t *testing.T, typeID uint8, p []byte) {
		var d amf.Decoder
		var e amf.Encoder
		typeID = 17 + typeID%2*3
		cmd, err := DecodeCommand(typeID, p, &d)
		if err != nil {
			return
		}
		b, err := AppendCommand(nil, &e, cmd.AMF3, cmd.Name, cmd.TxnID, cmd.Object, cmd.Args...)
		if err != nil {
			return // decoded values the encoder refuses (e.g. AMF3-only types in AMF0)
		}
		again, err := DecodeCommand(typeID, b, &d)
		if err != nil || again.Name != cmd.Name || len(again.Args) != len(cmd.Args) {
			t.Fatalf("re-encoded %x: %+v %v (was %+v)", b, again, err, cmd)
		}
	})
}

func FuzzDecodeData(f *testing.F) {
	for _, c := range dataFixtures {
		f.Add(c.typeID, c.payload)
	}
	f.Fuzz(func(t *testing.T, typeID uint8, p []byte) {
		var d amf.Decoder
		data, err := DecodeData(15+typeID%2*3, p, &d)
		if err == nil && len(data.Args) > MaxArgs {
			t.Fatalf("%d args", len(data.Args))
		}
	})
}

func FuzzSplitAggregate(f *testing.F) {
	for _, c := range aggregateFixtures {
		f.Add(unhex(c.hex))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		used := 0
		_ = SplitAggregate(7, p, func(_ uint8, _ uint32, body []byte) error {
			used += 11 + len(body)
			if used > len(p) {
				t.Fatal("sub-messages larger than the payload")
			}
			return nil
		})
	})
}

func FuzzDecodeSharedObject(f *testing.F) {
	for _, c := range sharedObjectFixtures {
		f.Add(c.typeID, unhex(c.hex))
	}
	f.Fuzz(func(t *testing.T, typeID uint8, p []byte) {
		m, err := DecodeSharedObject(16+typeID%2*3, p)
		if err != nil {
			return
		}
		n := 0
		for _, ev := range m.Events {
			n += 5 + len(ev.Data)
		}
		if n > len(p) || len(m.Events) > MaxSharedObjectEvents {
			t.Fatalf("events of %d bytes from %d", n, len(p))
		}
	})
}
