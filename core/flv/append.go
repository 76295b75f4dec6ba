package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

// AppendFile is a File the Writer can also read: appending reads the existing recording.
type AppendFile interface {
	File
	io.ReaderAt
}

// truncater is implemented by files that can be cut short (os.File).
type truncater interface{ Truncate(size int64) error }

// OpenAppend continues the recording in f, of size bytes (FMS's append and appendWithGap): it
// reads the existing tags' headers for the last timestamps and the keyframes, and the new
// part's timestamps follow the end of the last frame, plus opts.AppendGap. A tag left
// half-written by a crash is cut off (when f can be truncated) or overwritten. The
// publisher's fields of the existing onMetaData are kept until the new publisher sends its
// own. If the file's first tag is an onMetaData (ours has room for a full index; another
// tool's is thinned to fit) it is rewritten as in a new recording; a file without one keeps
// growing without metadata updates. An empty file starts a new recording.
func OpenAppend(f AppendFile, size int64, opts Options) (*Writer, error) {
	if size == 0 {
		return NewWriter(f, opts)
	}
	r, err := NewReader(f, size, ReaderOptions{MaxTagSize: MaxTagPayload, MaxMetadataSize: MaxTagPayload})
	if err != nil {
		return nil, fmt.Errorf("flv: append: %w", err)
	}
	w := newWriter(f, opts)
	w.flags = r.flags
	var slot int64 = -1
	if m := r.meta; m != nil && m.Offset == r.dataStart {
		slot = m.Offset
		w.slotOff, w.slotSize = m.Offset+TagHeaderSize, m.Size
		w.metaBuf = make([]byte, 0, m.Size)
		w.metaHead = m.Size // the first rewrite is whole: the slot's bytes are not our zeros
		w.fields.copied = copyProps(nil, m.Props)
		if m.Get(paddingKey) == nil { // another tool's: keep it, in case ours does not fit
			w.foreign, err = r.ReadPayload(TagHeader{Type: TagScript, Size: uint32(m.Size), Offset: m.Offset}, nil)
			if err != nil {
				return nil, fmt.Errorf("flv: append: %w", err)
			}
		}
	}
	last := TagHeader{Offset: -1}
	end, err := r.scanHeads(r.dataStart, MaxTagPayload, func(h TagHeader, head []byte) bool {
		last = h
		if h.Offset != slot {
			key := h.Type == TagVideo && !h.Filtered && media.Classify(TagVideo, head).Keyframe
			w.track(h.Type, int64(h.Timestamp), h.Offset, key, head)
		}
		return true
	})
	if err != nil && !errors.Is(err, ErrTruncated) {
		return nil, fmt.Errorf("flv: append: %w", err)
	}
	if t, ok := f.(truncater); ok && end < size {
		if err := t.Truncate(end); err != nil {
			return nil, fmt.Errorf("flv: append: cut the damaged tail: %w", err)
		}
	}
	if last.Offset >= 0 && last.End() > end { // the last tag is whole but its trailer is not
		var t [TrailerSize]byte
		binary.BigEndian.PutUint32(t[:], TagHeaderSize+last.Size)
		w.writeAt(t[:], last.End()-TrailerSize)
		end = last.End()
	}
	if w.ioErr != nil {
		return nil, w.ioErr
	}
	w.size, w.bufOff = end, end
	w.tl.start = w.durationMS() + int64(opts.AppendGap/time.Millisecond)
	w.nextSync = w.tl.start
	return w, nil // nextMeta 0: the metadata is brought up to date with the first message
}
