package media

import (
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, _ := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	return b
}

var classifyFixtures = []struct {
	name   string
	typeID uint8
	hex    string
	want   Info
}{
	{"AVC sequence header", 9, "17 00 000000 01640028", Info{SeqHeader: true, Codec: CodecAVC}},
	{"AVC keyframe", 9, "17 01 000000 00000001 65", Info{Keyframe: true, Codec: CodecAVC}},
	{"AVC inter frame", 9, "27 01 000000 00000001 41", Info{Codec: CodecAVC}},
	{"AVC end of sequence", 9, "17 02 000000", Info{Codec: CodecAVC}},
	{"legacy HEVC id 12 keyframe", 9, "1c 01 000000 00", Info{Keyframe: true, Codec: CodecHEVC}},
	{"legacy HEVC id 12 seq header", 9, "1c 00 000000 01", Info{SeqHeader: true, Codec: CodecHEVC}},
	{"enhanced hvc1 sequence start", 9, "90 68766331 01", Info{SeqHeader: true, Codec: CodecHEVC}},
	{"enhanced hvc1 keyframe (coded frames)", 9, "91 68766331 000000 00", Info{Keyframe: true, Codec: CodecHEVC}},
	{"enhanced hvc1 keyframe (coded frames X)", 9, "93 68766331 00", Info{Keyframe: true, Codec: CodecHEVC}},
	{"enhanced hvc1 inter", 9, "a3 68766331 00", Info{Codec: CodecHEVC}},
	{"enhanced av01 sequence start", 9, "90 61763031 81", Info{SeqHeader: true, Codec: CodecAV1}},
	{"enhanced av01 keyframe", 9, "91 61763031 12", Info{Keyframe: true, Codec: CodecAV1}},
	{"enhanced vp09 keyframe", 9, "91 76703039 00", Info{Keyframe: true, Codec: CodecVP9}},
	{"enhanced metadata is not a keyframe", 9, "94 68766331 02", Info{Codec: CodecHEVC}},
	{"AAC sequence header", 8, "af 00 1210", Info{SeqHeader: true, Codec: CodecAAC}},
	{"AAC raw", 8, "af 01 21", Info{Codec: CodecAAC}},
	{"MP3", 8, "2f ff", Info{Codec: CodecMP3}},
	{"enhanced Opus sequence start", 8, "90 4f707573 00", Info{SeqHeader: true, Codec: CodecOpus}},
	{"enhanced Opus frame", 8, "91 4f707573 00", Info{Codec: CodecOpus}},
	{"empty video", 9, "", Info{}},
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, f := range classifyFixtures {
		if got := Classify(f.typeID, unhex(f.hex)); got != f.want {
			t.Errorf("%s: got %+v (%s), want %+v", f.name, got, got.Codec, f.want)
		}
	}
}

func TestPacketRefcount(t *testing.T) {
	src := []byte("hello")
	before := LivePackets()
	p := NewPacket(9, 40, src)
	src[0] = 'X' // the packet owns a copy
	if string(p.Payload) != "hello" {
		t.Fatal("payload not copied")
	}
	p.Retain()
	p.Release()
	if LivePackets() != before+1 {
		t.Fatal("released too early")
	}
	p.Release()
	if LivePackets() != before {
		t.Fatal("not released")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("over-release must panic")
		}
	}()
	q := NewPacket(8, 0, nil)
	q.Release()
	q.refs.Store(0)
	q.Release()
}

func FuzzClassify(f *testing.F) {
	for _, c := range classifyFixtures {
		f.Add(c.typeID, unhex(c.hex))
	}
	f.Fuzz(func(t *testing.T, typeID uint8, p []byte) { _ = Classify(typeID, p) })
}

func BenchmarkNewPacketRelease(b *testing.B) {
	src := make([]byte, 4096)
	src[0] = 0x17
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		NewPacket(9, uint32(i), src).Release()
	}
}
