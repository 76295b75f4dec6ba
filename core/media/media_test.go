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
	{"enhanced multitrack hvc1 keyframe", 9, "96 01 68766331 00", Info{Keyframe: true, Codec: CodecHEVC}},
	{"enhanced multitrack av01 sequence start", 9, "96 00 61763031 00", Info{SeqHeader: true, Codec: CodecAV1}},
	{"enhanced truncated", 9, "91 6876", Info{Keyframe: true}},
	{"enhanced fLaC sequence start", 8, "90 664c6143 00", Info{SeqHeader: true, Codec: CodecFLAC}},
	{"enhanced ac-3 frame", 8, "91 61632d33 00", Info{Codec: CodecAC3}},
	{"enhanced ec-3 frame", 8, "91 65632d33 00", Info{Codec: CodecEAC3}},
	{"enhanced mp4a sequence start", 8, "90 6d703461 1210", Info{SeqHeader: true, Codec: CodecAAC}},
	{"enhanced .mp3 frame", 8, "91 2e6d7033 ff", Info{Codec: CodecMP3}},
	{"H.263 keyframe", 9, "12 00", Info{Keyframe: true, Codec: CodecH263}},
	{"VP6 inter", 9, "24 00", Info{Codec: CodecVP6}},
	{"data is not classified", 18, "02000a6f6e4d65746144617461", Info{}},
	{"empty audio", 8, "", Info{}},
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

func TestHelpersAgreeWithClassify(t *testing.T) {
	t.Parallel()
	for _, f := range classifyFixtures {
		p := unhex(f.hex)
		if IsSequenceHeader(f.typeID, p) != f.want.SeqHeader {
			t.Errorf("%s: IsSequenceHeader", f.name)
		}
		if f.typeID == 9 && (IsVideoKeyframe(p) != f.want.Keyframe || VideoCodec(p) != f.want.Codec) {
			t.Errorf("%s: IsVideoKeyframe/VideoCodec", f.name)
		}
		if f.typeID == 8 && AudioCodec(p) != f.want.Codec {
			t.Errorf("%s: AudioCodec", f.name)
		}
	}
	if CodecHEVC.String() != "hvc1" || Codec(0).String() != "" {
		t.Error("Codec.String")
	}
}

func TestPacketRefcount(t *testing.T) {
	src := []byte("hello")
	p := NewPacket(9, 40, src)
	src[0] = 'X' // the packet owns a copy
	if string(p.Payload) != "hello" {
		t.Fatal("payload not copied")
	}
	p.Retain()
	if p.Refs() != 2 {
		t.Fatalf("%d references after a Retain, want 2", p.Refs())
	}
	p.Release()
	if p.Refs() != 1 || p.Payload == nil {
		t.Fatal("released too early")
	}
	p.Release()
	if p.Payload != nil {
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
