package media

import "encoding/binary"

// Codec identifies a video or audio codec: legacy FLV ids and enhanced-RTMP FourCCs map to one
// set so the hub need not care how the publisher labelled it.
type Codec uint32

// FourCC packs a four-character code.
func FourCC(s string) Codec { return Codec(binary.BigEndian.Uint32([]byte(s))) }

// Codecs the hub recognises.
var (
	CodecH263 = FourCC("h263")
	CodecVP6  = FourCC("vp6 ")
	CodecAVC  = FourCC("avc1")
	CodecHEVC = FourCC("hvc1")
	CodecAV1  = FourCC("av01")
	CodecVP9  = FourCC("vp09")
	CodecAAC  = FourCC("mp4a")
	CodecMP3  = FourCC(".mp3")
	CodecOpus = FourCC("Opus")
	CodecFLAC = FourCC("fLaC")
	CodecAC3  = FourCC("ac-3")
	CodecEAC3 = FourCC("ec-3")
)

func (c Codec) String() string {
	if c == 0 {
		return ""
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(c))
	return string(b[:])
}

// Info is what the hub needs to know about a payload.
type Info struct {
	Keyframe  bool  // video: a frame a player can start decoding from
	SeqHeader bool  // decoder configuration (AVC/HEVC/AV1/VP9 sequence start, AAC config)
	Codec     Codec // 0 when unknown
}

// Classify inspects an audio or video payload (legacy FLV or enhanced RTMP).
func Classify(typeID uint8, p []byte) Info {
	switch typeID {
	case 9:
		return classifyVideo(p)
	case 8:
		return classifyAudio(p)
	}
	return Info{}
}

// enhanced video packet types
const (
	pktSequenceStart = 0
	pktMPEG2TSStart  = 5
	pktMultitrack    = 6
)

func classifyVideo(p []byte) Info {
	if len(p) == 0 {
		return Info{}
	}
	if p[0]&0x80 != 0 { // enhanced RTMP: frame type in bits 4..6, packet type in the low 4
		frameType, pktType, fourcc := (p[0]>>4)&0x07, p[0]&0x0F, p[1:]
		if pktType == pktMultitrack && len(p) >= 2 { // byte 1: multitrack type, inner packet type
			pktType, fourcc = p[1]&0x0F, p[2:]
		}
		var info Info
		if len(fourcc) >= 4 {
			info.Codec = Codec(binary.BigEndian.Uint32(fourcc))
		}
		info.SeqHeader = pktType == pktSequenceStart || pktType == pktMPEG2TSStart
		info.Keyframe = (frameType == 1 || frameType == 4) && !info.SeqHeader && pktType != 4
		return info
	}
	frameType, id := p[0]>>4, p[0]&0x0F
	info := Info{Codec: legacyVideo(id)}
	hasPacketType := id == 7 || id == 12 || id == 13
	if hasPacketType && len(p) >= 2 && p[1] == 0 {
		info.SeqHeader = true
		return info
	}
	info.Keyframe = frameType == 1 || frameType == 4
	if hasPacketType && len(p) >= 2 && p[1] == 2 { // end of sequence
		info.Keyframe = false
	}
	return info
}

func legacyVideo(id byte) Codec {
	switch id {
	case 2:
		return CodecH263
	case 4, 5:
		return CodecVP6
	case 7:
		return CodecAVC
	case 12: // HEVC as some ffmpeg forks and CDN encoders label it
		return CodecHEVC
	case 13:
		return CodecAV1
	}
	return 0
}

func classifyAudio(p []byte) Info {
	if len(p) == 0 {
		return Info{}
	}
	format := p[0] >> 4
	switch format {
	case 10:
		return Info{Codec: CodecAAC, SeqHeader: len(p) >= 2 && p[1] == 0}
	case 2, 14:
		return Info{Codec: CodecMP3}
	case 9: // enhanced audio: packet type in the low 4 bits, then a FourCC
		info := Info{SeqHeader: p[0]&0x0F == 0}
		if len(p) >= 5 {
			info.Codec = Codec(binary.BigEndian.Uint32(p[1:5]))
		}
		return info
	}
	return Info{}
}

// IsVideoKeyframe reports whether a raw video payload is a frame a player can start from.
func IsVideoKeyframe(payload []byte) bool { return classifyVideo(payload).Keyframe }

// IsSequenceHeader reports whether a raw audio (8) or video (9) payload carries decoder
// configuration, which every player needs before any frame.
func IsSequenceHeader(typeID uint8, payload []byte) bool { return Classify(typeID, payload).SeqHeader }

// VideoCodec names the codec of a raw video payload (legacy id or enhanced FourCC); 0 if unknown.
func VideoCodec(payload []byte) Codec { return classifyVideo(payload).Codec }

// AudioCodec names the codec of a raw audio payload (legacy format or enhanced FourCC); 0 if
// unknown or not one the hub tells apart.
func AudioCodec(payload []byte) Codec { return classifyAudio(payload).Codec }
