package flv

import (
	"errors"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

const (
	// headPeek is how many payload bytes a header scan reads with each header: enough to tell
	// a keyframe and a sequence header apart, legacy or enhanced.
	headPeek = 5
	// indexSlack is how far (ms) an index entry's time may be from its tag's timestamp.
	indexSlack = 1000
	// audioSyncGap spaces the sync points of a file without video (any audio frame is one).
	audioSyncGap = 1000
	// durationSlack is how far past the last timestamp a metadata duration is believed (the
	// last frame's own duration).
	durationSlack = 1000
)

// scanHeads calls fn for each tag from off with its header and first payload bytes, reading
// only those. It stops at the end of the file, at the first tag that does not fit it or breaks
// maxTag (returning that tag's offset as end and ErrTruncated or ErrCorrupt), or when fn
// returns false. end is the offset just past the last tag seen whole.
func (r *Reader) scanHeads(off int64, maxTag int, fn func(h TagHeader, head []byte) bool) (end int64, err error) {
	b := r.scratch[:]
	for off < r.size {
		if r.size-off < TagHeaderSize {
			return off, ErrTruncated
		}
		n := min(int64(len(b)), r.size-off)
		if err := r.readAt(b[:n], off); err != nil {
			return off, err
		}
		h := parseTagHeader(b, off)
		if h.PayloadOffset()+int64(h.Size) > r.size {
			return off, ErrTruncated
		}
		if int(h.Size) > maxTag {
			return off, ErrCorrupt
		}
		head := b[TagHeaderSize:min(n, TagHeaderSize+int64(h.Size))]
		end = min(h.End(), r.size)
		if !fn(h, head) {
			return end, nil
		}
		off = end
	}
	return off, nil
}

// isSync reports whether a tag is a point playback can start from: a video keyframe, or, in a
// file without video, any audio frame.
func isSync(h TagHeader, head []byte, audioOnly bool) bool {
	if h.Filtered {
		return false
	}
	if audioOnly {
		return h.Type == TagAudio && !media.Classify(TagAudio, head).SeqHeader
	}
	return h.Type == TagVideo && media.Classify(TagVideo, head).Keyframe
}

// buildIndex scans the whole file once for its sync points. A damaged tail ends the scan: the
// index covers what precedes it.
func (r *Reader) buildIndex() {
	video, audio := NewIndex(r.opts.MaxScanIndex), NewIndex(r.opts.MaxScanIndex)
	audio.gap = audioSyncGap
	sawVideo := false
	var last int64 = -1
	r.scanHeads(r.dataStart, r.opts.MaxTagSize, func(h TagHeader, head []byte) bool {
		switch {
		case isSync(h, head, false):
			video.Add(Keyframe{Timestamp: h.Timestamp, Offset: h.Offset})
		case isSync(h, head, true):
			audio.Add(Keyframe{Timestamp: h.Timestamp, Offset: h.Offset})
		}
		sawVideo = sawVideo || h.Type == TagVideo
		last = max(last, int64(h.Timestamp))
		return true
	})
	r.scanIndex, r.audioOnly, r.lastTS = video, !sawVideo, last
	if !sawVideo {
		r.scanIndex = audio
	}
}

// checkEntry reads the tag an index entry points to: it must be a video keyframe at about the
// entry's time.
func (r *Reader) checkEntry(k Keyframe) bool {
	ok := false
	r.scanHeads(k.Offset, r.opts.MaxTagSize, func(h TagHeader, head []byte) bool {
		d := int64(h.Timestamp) - int64(k.Timestamp)
		ok = isSync(h, head, false) && d >= -indexSlack && d <= indexSlack
		return false
	})
	return ok
}

// SeekKeyframe returns the sync point to start playing at for time t (ms): the last keyframe
// at or before t (the first one if t precedes them all), or, in a file without video, the last
// audio frame at or before t. It starts from the file's keyframes index when the entry it
// picks checks out (a wrong entry discards the file's index), else from an index built by
// one scan of the tag headers, then scans forward to t, so a thinned index still yields the
// nearest keyframe. A file with neither gives its first tag at time 0.
func (r *Reader) SeekKeyframe(t uint32) (Keyframe, error) {
	if r.fileIndex != nil {
		k, _ := r.fileIndex.At(t)
		if r.checkEntry(k) {
			return r.refine(k, t, false)
		}
		r.fileIndex = nil
	}
	if r.scanIndex == nil {
		r.buildIndex()
	}
	k, ok := r.scanIndex.At(t)
	if !ok {
		return Keyframe{Offset: r.dataStart}, nil
	}
	return r.refine(k, t, r.audioOnly)
}

// refine scans forward from k for later sync points at or before t.
func (r *Reader) refine(k Keyframe, t uint32, audioOnly bool) (Keyframe, error) {
	_, err := r.scanHeads(k.Offset, r.opts.MaxTagSize, func(h TagHeader, head []byte) bool {
		if h.Timestamp > t {
			return false
		}
		if isSync(h, head, audioOnly) {
			k = Keyframe{Timestamp: h.Timestamp, Offset: h.Offset}
		}
		return true
	})
	if errors.Is(err, ErrTruncated) {
		err = nil // the sync point found before the cut is good
	}
	return k, err
}

// LastTimestamp is the largest timestamp near the end of the file: that of the last tag when
// the final previous-tag-size points to a sane tag, else found by scanning from the last
// indexed keyframe (a recording cut short has no trailer for its last tag).
func (r *Reader) LastTimestamp() uint32 {
	if r.lastTS >= 0 {
		return uint32(r.lastTS)
	}
	if ts, ok := r.trailerTimestamp(); ok {
		r.lastTS = int64(ts)
		return ts
	}
	from := r.dataStart
	for _, x := range []*Index{r.fileIndex, r.scanIndex} {
		if k, ok := x.lastEntry(); ok && k.Offset > from && r.checkEntry(k) {
			from = k.Offset
		}
	}
	var last int64
	r.scanHeads(from, r.opts.MaxTagSize, func(h TagHeader, _ []byte) bool {
		last = max(last, int64(h.Timestamp))
		return true
	})
	r.lastTS = last
	return uint32(last)
}

func (r *Reader) trailerTimestamp() (uint32, bool) {
	var b [TrailerSize]byte
	if r.readAt(b[:], r.size-TrailerSize) != nil {
		return 0, false
	}
	n := int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	off := r.size - TrailerSize - n
	if n < TagHeaderSize || off < r.dataStart {
		return 0, false
	}
	h, err := r.ReadTagHeader(off)
	if err != nil || int64(h.Size) != n-TagHeaderSize || (h.Type != TagAudio && h.Type != TagVideo && h.Type != TagScript) {
		return 0, false
	}
	return h.Timestamp, true
}

// Duration is the file's playing time: the metadata's duration when it agrees with the last
// timestamp (it includes the last frame's own duration), else the last timestamp (the
// metadata of a recording cut short, or of a file edited by hand, is stale).
func (r *Reader) Duration() time.Duration {
	last := time.Duration(r.LastTimestamp()) * time.Millisecond
	if r.meta != nil {
		d := time.Duration(r.meta.Duration * float64(time.Second))
		if d >= last && d <= last+durationSlack*time.Millisecond {
			return d
		}
	}
	return last
}

// lastEntry is Last on a possibly nil index.
func (x *Index) lastEntry() (Keyframe, bool) {
	if x == nil {
		return Keyframe{}, false
	}
	return x.Last()
}
