package flv

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/fmsgo/fmsgo/core/amf"
)

// Metadata limits of the Writer.
const (
	// MaxCopiedMetadata bounds the encoded size of the publisher's metadata fields copied into a
	// recording: real encoders send a few hundred bytes; the reservation must not depend on what a
	// client chooses to send.
	MaxCopiedMetadata = 4096
	// maxCopiedProps bounds their number.
	maxCopiedProps = 64
	// maxMetaString is the longest string value copied: ffmpeg's FLV demuxer drops the whole
	// onMetaData when one string does not fit its buffer (256 bytes in older versions).
	maxMetaString = 255
	// metaFixed bounds what the writer's own fields, the keyframes object without its entries
	// and the padding property take (about 340 bytes).
	metaFixed = 512
	// bytesPerKeyframe is one entry: a number in times and one in filepositions.
	bytesPerKeyframe = 18
	// paddingKey names the property that fills the reserved tag; it is a strict array of nulls
	// then zeros, which ffmpeg, GStreamer and flv.js parse and ignore (a string would show up in
	// their tags, and GStreamer loses sync on any array element but a number or a null). A zero
	// is nine zero bytes, so the padding's tail is the same bytes whatever its length: a
	// rewrite only writes the fields, the index and the padding's head (see prefix).
	paddingKey      = "fmsgoPadding"
	paddingOverhead = 2 + len(paddingKey) + 1 + 4
	// creator is the metadatacreator written into every recording.
	creator = "fmsgo"
)

// ownedKeys are the metadata fields the Writer computes; a publisher's values for them (or a
// previous tool's, when appending) are stale and not copied.
var ownedKeys = map[string]bool{
	"duration": true, "filesize": true, "lasttimestamp": true, "lastkeyframetimestamp": true,
	"lastkeyframelocation": true, "keyframes": true, "hasKeyframes": true, "hasMetadata": true,
	"hasVideo": true, "hasAudio": true, "canSeekToEnd": true, "metadatacreator": true,
	"datasize": true, "videosize": true, "audiosize": true, paddingKey: true,
}

// reservedSize is the payload size of the onMetaData tag reserved at the start of a recording:
// room for the writer's fields, the copied publisher fields and a full index.
func reservedSize(indexEntries int) int {
	return metaFixed + MaxCopiedMetadata + bytesPerKeyframe*indexEntries
}

// metaFields is what the Writer puts into onMetaData besides the index.
type metaFields struct {
	copied     []amf.Prop // the publisher's scalar fields, within MaxCopiedMetadata
	duration   float64    // seconds
	fileSize   int64
	lastTS     uint32
	lastKeyTS  uint32
	lastKeyPos int64
	hasAudio   bool
	hasVideo   bool
	videoCodec float64 // videocodecid when the publisher gave none (0: unknown)
	audioCodec float64
}

// copyProps keeps the publisher's scalar fields that players use (width, height, framerate,
// data rates, codec ids, encoder, ...) within the budget; objects, arrays and long strings go.
func copyProps(dst []amf.Prop, props []amf.Prop) []amf.Prop {
	dst = dst[:0]
	budget := MaxCopiedMetadata
	for _, p := range props {
		if ownedKeys[p.Key] || len(p.Key) == 0 || len(p.Key) > maxMetaString || len(dst) == maxCopiedProps {
			continue
		}
		n := scalarSize(p.Value)
		if n == 0 || 2+len(p.Key)+n > budget {
			continue
		}
		budget -= 2 + len(p.Key) + n
		dst = append(dst, p)
	}
	return dst
}

// scalarSize is the AMF0 size of a value worth copying, 0 for one that is not.
func scalarSize(v any) int {
	switch x := v.(type) {
	case float64:
		return 9
	case bool:
		return 2
	case string:
		if len(x) <= maxMetaString {
			return 3 + len(x)
		}
	}
	return 0
}

func appendKey(dst []byte, k string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(k)))
	return append(dst, k...)
}

func appendNum(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0x00), math.Float64bits(f))
}

func appendKeyNum(dst []byte, k string, f float64) []byte { return appendNum(appendKey(dst, k), f) }

func appendKeyBool(dst []byte, k string, b bool) []byte {
	v := byte(0)
	if b {
		v = 1
	}
	return append(appendKey(dst, k), 0x01, v)
}

func appendScalar(dst []byte, v any) []byte {
	switch x := v.(type) {
	case float64:
		return appendNum(dst, x)
	case bool:
		if x {
			return append(dst, 0x01, 1)
		}
		return append(dst, 0x01, 0)
	case string:
		return appendKey(append(dst, 0x02), x)
	}
	return append(dst, 0x05)
}

// encodeMetadata appends an onMetaData payload of exactly size bytes: the fields, the index
// (when it has the two entries ffmpeg needs to accept one), and the padding property that
// fills the rest. prefix is the length of what precedes the padding's zeros. It reports false
// when they do not fit.
func encodeMetadata(dst []byte, m *metaFields, idx []Keyframe, size int) (b []byte, prefix int, ok bool) {
	start := len(dst)
	dst = amf.AppendString0(dst, "onMetaData")
	dst = append(dst, 0x08, 0, 0, 0, 0)
	countAt := len(dst) - 4
	n := 0
	prop := func(b []byte) []byte { n++; return b }
	dst = prop(appendKeyNum(dst, "duration", m.duration))
	dst = prop(appendKeyNum(dst, "filesize", float64(m.fileSize)))
	copiedVideo, copiedAudio := false, false
	for _, p := range m.copied {
		copiedVideo = copiedVideo || p.Key == "videocodecid"
		copiedAudio = copiedAudio || p.Key == "audiocodecid"
		dst = prop(appendScalar(appendKey(dst, p.Key), p.Value))
	}
	if !copiedVideo && m.videoCodec != 0 {
		dst = prop(appendKeyNum(dst, "videocodecid", m.videoCodec))
	}
	if !copiedAudio && m.audioCodec != 0 {
		dst = prop(appendKeyNum(dst, "audiocodecid", m.audioCodec))
	}
	dst = prop(appendKeyBool(dst, "hasVideo", m.hasVideo))
	dst = prop(appendKeyBool(dst, "hasAudio", m.hasAudio))
	dst = prop(appendKeyBool(dst, "hasMetadata", true))
	if len(idx) < 2 {
		idx = nil
	}
	dst = prop(appendKeyBool(dst, "hasKeyframes", idx != nil))
	dst = prop(appendKeyNum(dst, "lasttimestamp", float64(m.lastTS)/1000))
	dst = prop(appendKeyNum(dst, "lastkeyframetimestamp", float64(m.lastKeyTS)/1000))
	dst = prop(appendKeyNum(dst, "lastkeyframelocation", float64(m.lastKeyPos)))
	dst = prop(appendScalar(appendKey(dst, "metadatacreator"), creator))
	if idx != nil {
		dst = prop(appendKeyframes(dst, idx))
	}
	pad := size - (len(dst) - start) - paddingOverhead - 3
	if pad < 0 {
		return dst[:start], 0, false
	}
	dst = prop(appendPaddingHead(dst, pad))
	prefix = len(dst) - start
	dst = append(dst, make([]byte, pad-pad%9)...)
	dst = append(dst, 0, 0, 0x09)
	binary.BigEndian.PutUint32(dst[countAt:], uint32(n))
	return dst, prefix, true
}

// appendKeyframes appends keyframes: {times: [s...], filepositions: [offset...]}.
func appendKeyframes(dst []byte, idx []Keyframe) []byte {
	dst = append(appendKey(dst, "keyframes"), 0x03)
	dst = binary.BigEndian.AppendUint32(append(appendKey(dst, "times"), 0x0A), uint32(len(idx)))
	for _, k := range idx {
		dst = appendNum(dst, float64(k.Timestamp)/1000)
	}
	dst = binary.BigEndian.AppendUint32(append(appendKey(dst, "filepositions"), 0x0A), uint32(len(idx)))
	for _, k := range idx {
		dst = appendNum(dst, float64(k.Offset))
	}
	return append(dst, 0, 0, 0x09)
}

// appendPaddingHead appends the head of the padding property for pad bytes of elements: its
// key, its count, and the nulls (1 byte each) of the remainder; the zeros (9 bytes each)
// follow.
func appendPaddingHead(dst []byte, pad int) []byte {
	zeros, nulls := pad/9, pad%9
	dst = append(appendKey(dst, paddingKey), 0x0A)
	dst = binary.BigEndian.AppendUint32(dst, uint32(zeros+nulls))
	for range nulls {
		dst = append(dst, 0x05)
	}
	return dst
}

// halve keeps every other entry (the first one always), for metadata that must shrink to fit.
func halve(idx []Keyframe) []Keyframe {
	out := idx[:0:0]
	for i := 0; i < len(idx); i += 2 {
		out = append(out, idx[i])
	}
	return out
}

// legacyVideoID and legacyAudioID are the codec ids of the first byte of a tag, which
// videocodecid and audiocodecid carry (enhanced-RTMP codecs: the FourCC as a number, as ffmpeg
// writes them).
func legacyVideoID(payload []byte) float64 {
	if len(payload) == 0 {
		return 0
	}
	if payload[0]&0x80 != 0 && len(payload) >= 5 {
		return float64(binary.BigEndian.Uint32(payload[1:5]))
	}
	return float64(payload[0] & 0x0F)
}

func legacyAudioID(payload []byte) float64 {
	if len(payload) == 0 {
		return 0
	}
	if payload[0]>>4 == 9 && len(payload) >= 5 {
		return float64(binary.BigEndian.Uint32(payload[1:5]))
	}
	return float64(payload[0] >> 4)
}

// patchNumber overwrites the number value of a property in an encoded onMetaData, in place:
// how the metadata of another tool's file, too small for ours, is kept up to date.
func patchNumber(p []byte, key string, v float64) {
	pat := append(appendKey(nil, key), 0x00)
	if i := bytes.Index(p, pat); i >= 0 && i+len(pat)+8 <= len(p) {
		binary.BigEndian.PutUint64(p[i+len(pat):], math.Float64bits(v))
	}
}
