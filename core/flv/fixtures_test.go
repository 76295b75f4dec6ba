package flv

import (
	"encoding/binary"
	"math"

	"github.com/fmsgo/fmsgo/core/amf"
)

// Byte fixtures: small files, valid and malformed, built from the format's definition (not
// by the Writer, so that the Reader is not checked against itself). They are the table of
// TestReaderFixtures and the seeds of FuzzReader.

func fileHeader(flags byte, dataOffset uint32) []byte {
	b := []byte{'F', 'L', 'V', 1, flags}
	b = binary.BigEndian.AppendUint32(b, dataOffset)
	if dataOffset > HeaderSize && dataOffset < 64 {
		b = append(b, make([]byte, dataOffset-HeaderSize)...)
	}
	return append(b, 0, 0, 0, 0)
}

func tagBytes(typ uint8, ts uint32, payload []byte) []byte { return appendTag(nil, typ, ts, payload) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// rawTagHeader is a tag header with any size field, for lies.
func rawTagHeader(typ uint8, size uint32, ts uint32) []byte {
	b := make([]byte, TagHeaderSize)
	putTagHeader(b, typ, int(size), ts)
	return b
}

// onMetaData builds a metadata payload with a keyframes index of the given raw numbers.
func onMetaData(duration float64, times, positions []any) []byte {
	props := []amf.Prop{{Key: "duration", Value: duration}}
	if times != nil || positions != nil {
		props = append(props, amf.Prop{Key: "keyframes", Value: &amf.Object{Props: []amf.Prop{
			{Key: "times", Value: &amf.Array{Dense: times}},
			{Key: "filepositions", Value: &amf.Array{Dense: positions}},
		}}})
	}
	b := amf.AppendString0(nil, "onMetaData")
	var e amf.Encoder
	b, _ = e.AppendAMF0(b, &amf.Array{ECMA: true, Assoc: props})
	return b
}

// handFile is a small file: header, optional metadata, then a keyframe every second for
// 3 s with an inter frame and an audio frame between. Offsets of its keyframes are returned.
func handFile(meta func(keyOffsets []float64) []byte) ([]byte, []float64) {
	body := func(start int) ([]byte, []float64) {
		var b []byte
		var keys []float64
		b = append(b, tagBytes(TagVideo, 0, avcSeq)...)
		for s := range 3 {
			keys = append(keys, float64(start+len(b)))
			b = append(b, tagBytes(TagVideo, uint32(s*1000), keyFrame(3))...)
			b = append(b, tagBytes(TagAudio, uint32(s*1000+20), audioFrame(2))...)
			b = append(b, tagBytes(TagVideo, uint32(s*1000+500), interFrame(3))...)
		}
		return b, keys
	}
	head := fileHeader(5, 9)
	if meta == nil {
		b, keys := body(len(head))
		return cat(head, b), keys
	}
	// two passes: the metadata's size decides where the tags start
	probe := tagBytes(TagScript, 0, meta(make([]float64, 3)))
	b, keys := body(len(head) + len(probe))
	return cat(head, tagBytes(TagScript, 0, meta(keys)), b), keys
}

func nums(f []float64) []any {
	out := make([]any, len(f))
	for i, v := range f {
		out[i] = v
	}
	return out
}

type readerFixture struct {
	name      string
	b         []byte
	openErr   error // from NewReader
	tags      int   // tags a Cursor reads
	cursorErr error // what ends the Cursor (nil: the end of the file)
	keyframes int   // well-formed index entries in the metadata
}

func readerFixtures() []readerFixture {
	audio := tagBytes(TagAudio, 0, audioFrame(4))
	indexed, _ := handFile(func(k []float64) []byte {
		return onMetaData(3, nums([]float64{0, 1, 2}), nums(k))
	})
	wrongIndex, _ := handFile(func(k []float64) []byte { // points at the inter frames
		const inter = 23 + 19 // past a keyframe tag and an audio tag
		return onMetaData(3, nums([]float64{0, 1, 2}), nums([]float64{k[0] + inter, k[1] + inter, k[2] + inter}))
	})
	outside, _ := handFile(func([]float64) []byte {
		return onMetaData(3, nums([]float64{0, 1}), nums([]float64{13, 1e12}))
	})
	uneven, _ := handFile(func(k []float64) []byte { return onMetaData(3, nums([]float64{0, 1}), nums(k)) })
	nan, _ := handFile(func(k []float64) []byte {
		return onMetaData(math.NaN(), nums([]float64{0, math.NaN(), 2}), nums(k))
	})
	return []readerFixture{
		{name: "empty", b: nil, openErr: ErrNotFLV},
		{name: "signature only", b: []byte("FLV"), openErr: ErrNotFLV},
		{name: "bad signature", b: cat([]byte("FLX"), fileHeader(5, 9)[3:]), openErr: ErrNotFLV},
		{name: "data offset below 9", b: fileHeader(5, 8), openErr: ErrNotFLV},
		{name: "data offset past the end", b: fileHeader(5, 1000), openErr: ErrNotFLV},
		{name: "data offset huge", b: fileHeader(5, 0xFFFFFFFF), openErr: ErrNotFLV},
		{name: "header only", b: fileHeader(5, 9)},
		{name: "header with extra bytes", b: cat(fileHeader(5, 20), audio), tags: 1},
		{name: "one audio tag", b: cat(fileHeader(4, 9), audio), tags: 1},
		{name: "last trailer missing", b: cat(fileHeader(4, 9), audio[:len(audio)-4]), tags: 1},
		{name: "last trailer cut", b: cat(fileHeader(4, 9), audio[:len(audio)-2]), tags: 1},
		{name: "payload cut", b: cat(fileHeader(4, 9), audio[:14]), cursorErr: ErrTruncated},
		{name: "header cut", b: cat(fileHeader(4, 9), audio, audio[:5]), tags: 1, cursorErr: ErrTruncated},
		{name: "size field lies (16 MiB)", b: cat(fileHeader(4, 9), rawTagHeader(TagAudio, MaxTagPayload, 0), make([]byte, 40)), cursorErr: ErrTruncated},
		{name: "zero-size tags", b: cat(fileHeader(5, 9), tagBytes(TagVideo, 0, nil), tagBytes(TagAudio, 0, nil), tagBytes(TagScript, 0, nil)), tags: 3},
		{name: "unknown tag type", b: cat(fileHeader(5, 9), tagBytes(7, 0, []byte{1, 2}), audio), tags: 2},
		{name: "filtered tag", b: cat(fileHeader(5, 9), tagBytes(TagAudio|0x20, 0, []byte{1, 2})), tags: 1},
		{name: "timestamp extension", b: cat(fileHeader(5, 9), tagBytes(TagAudio, 0x7F000001, audioFrame(1))), tags: 1},
		{name: "no metadata", b: func() []byte { b, _ := handFile(nil); return b }(), tags: 10},
		{name: "indexed", b: indexed, tags: 11, keyframes: 3},
		{name: "index pointing at inter frames", b: wrongIndex, tags: 11, keyframes: 3},
		{name: "index outside the file", b: outside, tags: 11},
		{name: "index of uneven lengths", b: uneven, tags: 11},
		{name: "index with NaN", b: nan, tags: 11},
		{name: "metadata strict array claims 2^32 elements", b: cat(fileHeader(5, 9),
			tagBytes(TagScript, 0, cat(amf.AppendString0(nil, "onMetaData"), []byte{0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05}))), tags: 1},
		{name: "metadata nested 1000 deep", b: cat(fileHeader(5, 9),
			tagBytes(TagScript, 0, cat(amf.AppendString0(nil, "onMetaData"), deepArrays(1000)))), tags: 1},
		{name: "script tag not onMetaData", b: cat(fileHeader(5, 9), tagBytes(TagScript, 0, amf.AppendString0(nil, "onCuePoint"))), tags: 1},
	}
}

func deepArrays(n int) []byte {
	var b []byte
	for range n {
		b = append(b, 0x0A, 0, 0, 0, 1)
	}
	return append(b, 0x05)
}
