package flv

import "github.com/fmsgo/fmsgo/core/amf"

// script decides what becomes of a data message: the publisher's onMetaData goes into the
// reserved metadata (a second onMetaData tag in the file would confuse players), sample access
// and @clearDataFrame are not recorded, anything else (cue points, text, app messages) is.
func (w *Writer) script(p []byte) ([]byte, bool) {
	name, rest, ok := scriptName(p)
	if ok && name == "@setDataFrame" {
		p = rest
		name, rest, ok = scriptName(p)
	}
	switch {
	case !ok, name == "|RtmpSampleAccess":
		return nil, false
	case name == "onMetaData":
		w.setPublisherMetadata(rest)
		return nil, false
	case name == "@clearDataFrame":
		w.fields.copied = w.fields.copied[:0]
		return nil, false
	}
	return p, true
}

// scriptName splits the AMF0 string a data message starts with from the rest.
func scriptName(p []byte) (string, []byte, bool) {
	if len(p) < 3 || p[0] != 0x02 {
		return "", nil, false
	}
	n := int(p[1])<<8 | int(p[2])
	if len(p) < 3+n {
		return "", nil, false
	}
	return string(p[3 : 3+n]), p[3+n:], true
}

// maxPublisherMetadata bounds the publisher's onMetaData decoded for copying.
const maxPublisherMetadata = 64 << 10

func (w *Writer) setPublisherMetadata(p []byte) {
	if len(p) > maxPublisherMetadata {
		return
	}
	w.dec.Reset(p)
	v, err := w.dec.DecodeAMF0()
	if err != nil {
		return
	}
	var props []amf.Prop
	switch x := v.(type) {
	case *amf.Array:
		props = x.Assoc
	case *amf.Object:
		props = x.Props
	}
	w.fields.copied = copyProps(w.fields.copied, props)
	w.nextMeta = 0 // rewrite at the next message
}

// track updates what the metadata says after a tag was put at off.
func (w *Writer) track(typ uint8, t, off int64, key bool, payload []byte) {
	switch typ {
	case TagVideo:
		w.video.add(t)
		w.seen |= flagVideo
		w.fields.hasVideo = true
		if w.fields.videoCodec == 0 {
			w.fields.videoCodec = legacyVideoID(payload)
		}
		if key {
			w.idx.Add(Keyframe{Timestamp: uint32(t), Offset: off})
			w.fields.lastKeyTS, w.fields.lastKeyPos = uint32(t), off
		}
	case TagAudio:
		w.audio.add(t)
		w.seen |= flagAudio
		w.fields.hasAudio = true
		if w.fields.audioCodec == 0 {
			w.fields.audioCodec = legacyAudioID(payload)
		}
	default:
		w.lastData = max(w.lastData, t)
	}
	w.fields.lastTS = uint32(t)
}

// durationMS is the recording's duration: the end of its last frame.
func (w *Writer) durationMS() int64 {
	return max(w.video.end(), w.audio.end(), w.lastData)
}

// rewriteMetadata writes the current onMetaData over the reserved one, after the tags it
// indexes, and the header flags if the tags changed them.
func (w *Writer) rewriteMetadata() {
	w.flush()
	if w.slotOff == 0 || w.ioErr != nil {
		return
	}
	w.fields.duration = float64(w.durationMS()) / 1000
	w.fields.fileSize = w.size
	if b, head, ok := w.encodeMeta(); ok {
		w.writeAt(b[:max(w.metaHead, head)], w.slotOff)
		w.metaHead = head
	} else if w.foreign != nil { // too small for ours: keep it, with the new duration and size
		patchNumber(w.foreign, "duration", w.fields.duration)
		patchNumber(w.foreign, "filesize", float64(w.size))
		w.writeAt(w.foreign, w.slotOff)
	}
	if w.seen != 0 && w.seen != w.flags {
		w.flags = w.seen
		w.writeAt([]byte{w.flags}, 4)
	}
}

// encodeMeta encodes the metadata to the slot's size. Our own slot always has room; a smaller
// one (appending to another tool's file) gets a thinned index, or nothing if even no index
// does not fit.
// head is the length of what precedes the padding's zeros.
func (w *Writer) encodeMeta() (b []byte, head int, ok bool) {
	idx := w.idx.Entries()
	for {
		if b, head, ok := encodeMetadata(w.metaBuf[:0], &w.fields, idx, w.slotSize); ok {
			w.metaBuf = b[:0]
			return b, head, true
		}
		switch {
		case len(idx) > 1:
			idx = halve(idx)
		case len(idx) == 1:
			idx = nil
		default:
			return nil, 0, false
		}
	}
}
