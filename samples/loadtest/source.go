package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// frame is one media or data message a publisher sends; body is shared and never modified.
type frame struct {
	typeID uint8
	ts     uint32
	body   []byte
}

// mediaSource yields an endless, timestamped sequence of frames; headers are sent once first.
type mediaSource interface {
	headers() []frame
	next() frame
}

// Synthetic stream shape: 25 fps video with a keyframe every second, AAC-like audio at 44.1 kHz
// (1024 samples a frame) and 128 kb/s.
const (
	videoFPS     = 25
	audioBitrate = 128_000
	audioRate    = 44_100
	audioSamples = 1024
	keyframeMul  = 6 // a keyframe weighs as much as six inter frames
)

// synth is the built-in generator: prebuilt payloads, so publishing allocates nothing per frame.
type synth struct {
	key, inter, audio []byte
	vframe, aframe    int
}

func newSynth(videoBitrate int) *synth {
	perGOP := videoBitrate / 8 // one GOP per second
	inter := max(perGOP/(keyframeMul+videoFPS-1), 16)
	mk := func(first byte, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = first, 1 // AVC NALU
		for i := 5; i < n; i++ {
			b[i] = byte(i * 7)
		}
		return b
	}
	audio := make([]byte, audioBitrate/8*audioSamples/audioRate)
	audio[0], audio[1] = 0xaf, 1 // AAC raw
	return &synth{key: mk(0x17, inter*keyframeMul), inter: mk(0x27, inter), audio: audio}
}

func (s *synth) headers() []frame {
	avc := []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce}
	return []frame{{typeID: 9, body: avc}, {typeID: 8, body: []byte{0xaf, 0, 0x12, 0x10}}}
}

// next interleaves video and audio by timestamp.
func (s *synth) next() frame {
	vts := uint32(s.vframe * 1000 / videoFPS)
	ats := uint32(int64(s.aframe) * audioSamples * 1000 / audioRate)
	if ats < vts {
		s.aframe++
		return frame{typeID: 8, ts: ats, body: s.audio}
	}
	body := s.inter
	if s.vframe%videoFPS == 0 {
		body = s.key
	}
	s.vframe++
	return frame{typeID: 9, ts: vts, body: body}
}

// flvSource loops over the tags of an FLV file, shifting timestamps on every lap.
type flvSource struct {
	hdrs   []frame
	frames []frame
	i      int
	offset uint32
}

// maxFLV bounds the file held in memory.
const maxFLV = 512 << 20

func loadFLV(path string) (*flvSource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFLV {
		return nil, fmt.Errorf("flv %s: %d bytes is more than %d", path, st.Size(), maxFLV)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src, err := parseFLV(b)
	if err != nil {
		return nil, fmt.Errorf("flv %s: %w", path, err)
	}
	return src, nil
}

var errNoMedia = errors.New("no audio or video tags")

// parseFLV splits an FLV file into tags: sequence headers and metadata go to headers, the rest
// loops. Bodies alias b.
func parseFLV(b []byte) (*flvSource, error) {
	if len(b) < 13 || string(b[:3]) != "FLV" {
		return nil, errors.New("not an FLV file")
	}
	off := int(binary.BigEndian.Uint32(b[5:9])) + 4 // header, then PreviousTagSize0
	src := &flvSource{}
	for off+11 <= len(b) {
		typ := b[off] & 0x1f
		size := int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		ts := uint32(b[off+4])<<16 | uint32(b[off+5])<<8 | uint32(b[off+6]) | uint32(b[off+7])<<24
		end := off + 11 + size
		if end > len(b) {
			break // a truncated last tag: keep what came before
		}
		src.add(frame{typeID: typ, ts: ts, body: b[off+11 : end]})
		off = end + 4
	}
	if len(src.frames) == 0 {
		return nil, errNoMedia
	}
	return src, nil
}

func (s *flvSource) add(f frame) {
	switch {
	case f.typeID == 18:
		s.hdrs = append(s.hdrs, f)
	case (f.typeID == 8 || f.typeID == 9) && isSequenceHeader(f):
		s.hdrs = append(s.hdrs, f)
	case f.typeID == 8 || f.typeID == 9:
		s.frames = append(s.frames, f)
	}
}

func isSequenceHeader(f frame) bool {
	if len(f.body) < 2 {
		return false
	}
	if f.typeID == 8 {
		return f.body[0]>>4 == 10 && f.body[1] == 0 // AAC sequence header
	}
	if f.body[0]&0x80 != 0 {
		return f.body[0]&0x0f == 0 // enhanced RTMP SequenceStart
	}
	codec := f.body[0] & 0x0f
	return (codec == 7 || codec == 12) && f.body[1] == 0
}

func (s *flvSource) headers() []frame { return s.hdrs }

func (s *flvSource) next() frame {
	if s.i == len(s.frames) {
		last := s.frames[len(s.frames)-1].ts
		s.offset += last - s.frames[0].ts + 40
		s.i = 0
	}
	f := s.frames[s.i]
	s.i++
	f.ts = max(f.ts, s.frames[0].ts) - s.frames[0].ts + s.offset
	return f
}
