// Package flv records live streams to FLV files and reads FLV files for playback on demand.
//
// The Writer turns the messages of a live stream (audio 8, video 9, data 18) into a file that
// players and ffmpeg can seek in without a post-processor: an onMetaData tag at the start carries
// duration, file size, the publisher's metadata and a keyframes {times, filepositions} index,
// the de-facto standard (yamdi, flvtool2, JW Player, ffmpeg) for seeking in FLV. That tag is
// reserved at a fixed size when the file is created and rewritten in place while recording, so
// that a file is seekable during and after the recording and no second pass is needed; a file
// left by a crash is readable up to its last flushed tag.
//
// The Reader opens files of any origin, which makes them untrusted input: every length is
// checked against the file size and a hard cap before anything is allocated, the metadata is
// decoded with the bounded AMF0 decoder, and an index from the file is used only after its
// entries check out against the tags they point to.
//
// Neither touches the file system: the Writer writes to a File (os.File is one) and the Reader
// reads from an io.ReaderAt, so that the storage extension point stays the caller's business.
package flv

import (
	"encoding/binary"
	"errors"
)

// Tag types of FLV (the same numbers as the RTMP message types they carry).
const (
	TagAudio  uint8 = 8
	TagVideo  uint8 = 9
	TagScript uint8 = 18
)

// Layout sizes of the format.
const (
	HeaderSize    = 9  // "FLV", version, flags, data offset
	TagHeaderSize = 11 // type, size (24), timestamp (24 + 8), stream id (24)
	TrailerSize   = 4  // previous tag size after each tag
	// MaxTagPayload is the largest payload the 24-bit size field can describe.
	MaxTagPayload = 1<<24 - 1
)

// header flags (byte 4)
const (
	flagAudio = 0x04
	flagVideo = 0x01
)

// Errors callers act on.
var (
	// ErrLimit: the recording reached its maximum duration or size; the tag was not written and
	// none will be. The caller stops the recording (NetStream.Record.Stop) and closes the Writer.
	ErrLimit = errors.New("flv: recording limit reached")
	// ErrNotFLV: the file does not start with a valid FLV header.
	ErrNotFLV = errors.New("flv: not an FLV file")
	// ErrCorrupt: a tag does not fit the file or breaks a limit of the format or of the reader.
	ErrCorrupt = errors.New("flv: corrupt tag")
	// ErrClosed: the Writer was closed.
	ErrClosed = errors.New("flv: writer closed")
)

// TagHeader is the fixed part of a tag, where it is, and how long it is.
type TagHeader struct {
	Type      uint8  // low 5 bits of the first byte: 8, 9 or 18
	Filtered  bool   // bit 5 (encrypted or otherwise pre-processed payload): not playable as is
	Size      uint32 // payload size
	Timestamp uint32 // milliseconds, 24 bits plus the extension byte
	Offset    int64  // file offset of the tag's first byte
}

// End is the file offset just past the tag's trailer (the next tag's offset).
func (h TagHeader) End() int64 {
	return h.Offset + TagHeaderSize + int64(h.Size) + TrailerSize
}

// PayloadOffset is the file offset of the tag's payload.
func (h TagHeader) PayloadOffset() int64 { return h.Offset + TagHeaderSize }

// appendFileHeader appends the 9-byte FLV header and the first (zero) previous tag size.
func appendFileHeader(dst []byte, flags byte) []byte {
	dst = append(dst, 'F', 'L', 'V', 1, flags, 0, 0, 0, HeaderSize)
	return append(dst, 0, 0, 0, 0)
}

// putTagHeader writes an 11-byte tag header into b.
func putTagHeader(b []byte, typ uint8, size int, ts uint32) {
	b[0] = typ
	b[1], b[2], b[3] = byte(size>>16), byte(size>>8), byte(size)
	b[4], b[5], b[6], b[7] = byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24)
	b[8], b[9], b[10] = 0, 0, 0
}

// parseTagHeader decodes the 11 bytes of a tag header found at off.
func parseTagHeader(b []byte, off int64) TagHeader {
	return TagHeader{
		Type:      b[0] & 0x1F,
		Filtered:  b[0]&0x20 != 0,
		Size:      uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]),
		Timestamp: uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]) | uint32(b[7])<<24,
		Offset:    off,
	}
}

// appendTag appends one whole tag: header, payload and trailer.
func appendTag(dst []byte, typ uint8, ts uint32, payload []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, TagHeaderSize)...)
	putTagHeader(dst[n:], typ, len(payload), ts)
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, uint32(TagHeaderSize+len(payload)))
}
