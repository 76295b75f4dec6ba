package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
)

// rawReader is the players' cheap chunk reader. It is deliberately independent of core/chunk
// (a measuring tool should not share the bugs of what it measures) and cheaper: media payloads
// are never copied or decoded, only skipped in the bufio buffer, keeping the first two bytes of
// a video message (enough to see a keyframe). Small non-media messages (control, commands) are
// gathered whole into a reused buffer per chunk stream. Nothing is allocated per message after warm-up.
type rawReader struct {
	br        *bufio.Reader
	chunkSize uint32
	streams   map[uint32]*chunkStream
	read      uint64 // bytes consumed
}

// chunkStream is the header state of one chunk stream id.
type chunkStream struct {
	ts, delta, length uint32
	streamID          uint32
	typeID            uint8
	ext               bool   // the last header carried an extended timestamp
	extVal            uint32 // ...with this value
	remaining         uint32 // payload bytes still to come of the current message
	head              [2]byte
	headN             int
	small             []byte // payload of the current non-media message, reused
}

// rawMsg is one complete message as the player sees it.
type rawMsg struct {
	typeID   uint8
	streamID uint32
	ts       uint32
	length   uint32
	head     []byte // first (up to) two payload bytes, for media
	payload  []byte // the whole payload, for non-media messages; valid until the next call
}

// Limits of the raw reader: a small message larger than this, or too many chunk streams, means
// the peer is not a sane RTMP server.
const (
	maxSmallMessage = 1 << 20
	maxChunkStreams = 256
)

var errBadChunk = errors.New("loadtest: malformed chunk stream")

func newRawReader(br *bufio.Reader) *rawReader {
	return &rawReader{br: br, chunkSize: 128, streams: map[uint32]*chunkStream{}}
}

// isMedia says whether a type's payload is skipped rather than gathered.
func isMedia(typeID uint8) bool { return typeID == 8 || typeID == 9 || typeID == 22 }

// next reads chunks until one message is complete.
func (r *rawReader) next() (rawMsg, error) {
	for {
		cs, err := r.chunkHeader()
		if err != nil {
			return rawMsg{}, err
		}
		done, err := r.chunkBody(cs)
		if err != nil || !done {
			if err != nil {
				return rawMsg{}, err
			}
			continue
		}
		m := rawMsg{typeID: cs.typeID, streamID: cs.streamID, ts: cs.ts, length: cs.length, head: cs.head[:cs.headN]}
		if !isMedia(cs.typeID) {
			m.payload = cs.small
		}
		return m, nil
	}
}

// chunkHeader reads a basic and message header and returns the chunk stream's updated state.
func (r *rawReader) chunkHeader() (*chunkStream, error) {
	b, err := r.take(1)
	if err != nil {
		return nil, err
	}
	format, csid := b[0]>>6, uint32(b[0]&0x3f)
	switch csid {
	case 0:
		if b, err = r.take(1); err != nil {
			return nil, err
		}
		csid = 64 + uint32(b[0])
	case 1:
		if b, err = r.take(2); err != nil {
			return nil, err
		}
		csid = 64 + uint32(b[0]) + 256*uint32(b[1])
	}
	cs := r.streams[csid]
	if cs == nil {
		if len(r.streams) >= maxChunkStreams {
			return nil, fmt.Errorf("%w: more than %d chunk streams", errBadChunk, maxChunkStreams)
		}
		cs = &chunkStream{}
		r.streams[csid] = cs
	}
	return cs, r.messageHeader(cs, format)
}

// messageHeader applies a fmt 0..3 header (with extended timestamps, tolerant on fmt 3).
func (r *rawReader) messageHeader(cs *chunkStream, format byte) error {
	sizes := [4]int{11, 7, 3, 0}
	b, err := r.take(sizes[format])
	if err != nil {
		return err
	}
	var ts uint32
	if format < 3 {
		ts = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		cs.ext = ts == 0xFFFFFF
	}
	if format < 2 {
		cs.length = uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5])
		cs.typeID = b[6]
	}
	if format == 0 {
		cs.streamID = binary.LittleEndian.Uint32(b[7:11])
	}
	if err := r.extended(cs, format, &ts); err != nil {
		return err
	}
	if format < 3 || cs.remaining == 0 { // a full header mid-message abandons the partial one
		r.startMessage(cs, format, ts)
	}
	return nil
}

// extended reads a 4-byte extended timestamp: always after a 0xFFFFFF field, and on fmt 3 only
// when the next four bytes repeat the last value (some writers omit it on continuations).
func (r *rawReader) extended(cs *chunkStream, format byte, ts *uint32) error {
	if !cs.ext {
		return nil
	}
	if format == 3 {
		b, err := r.br.Peek(4)
		if err == nil && binary.BigEndian.Uint32(b) == cs.extVal {
			_, _ = r.take(4)
		}
		*ts = cs.extVal
		return nil
	}
	b, err := r.take(4)
	if err != nil {
		return err
	}
	cs.extVal = binary.BigEndian.Uint32(b)
	*ts = cs.extVal
	return nil
}

func (r *rawReader) startMessage(cs *chunkStream, format byte, ts uint32) {
	switch format {
	case 0:
		cs.ts, cs.delta = ts, 0
	case 1, 2:
		cs.delta = ts
		cs.ts += ts
	default:
		cs.ts += cs.delta
	}
	cs.remaining, cs.headN = cs.length, 0
	cs.small = cs.small[:0]
}

// chunkBody consumes one chunk's payload; it reports whether the message is complete.
func (r *rawReader) chunkBody(cs *chunkStream) (bool, error) {
	if cs.length == 0 {
		return true, nil
	}
	if !isMedia(cs.typeID) && cs.length > maxSmallMessage {
		return false, fmt.Errorf("%w: %d-byte type %d message", errBadChunk, cs.length, cs.typeID)
	}
	n := int(min(cs.remaining, r.chunkSize))
	for n > 0 {
		b, err := r.br.Peek(min(n, r.br.Size()))
		if len(b) == 0 {
			return false, err
		}
		if isMedia(cs.typeID) {
			cs.headN += copy(cs.head[cs.headN:], b)
		} else {
			cs.small = append(cs.small, b...)
		}
		_, _ = r.br.Discard(len(b))
		r.read += uint64(len(b))
		n -= len(b)
		cs.remaining -= uint32(len(b))
	}
	return cs.remaining == 0, nil
}

// take consumes exactly n header bytes; the slice is valid until the next read.
func (r *rawReader) take(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	b, err := r.br.Peek(n)
	if err != nil {
		return nil, err
	}
	_, _ = r.br.Discard(n)
	r.read += uint64(n)
	return b, nil
}

// setChunkSize applies the server's Set Chunk Size.
func (r *rawReader) setChunkSize(n uint32) error {
	n &= 0x7FFFFFFF
	if n == 0 {
		return fmt.Errorf("%w: chunk size 0", errBadChunk)
	}
	r.chunkSize = n
	return nil
}
