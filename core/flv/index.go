package flv

import "sort"

// Keyframe is one entry of a keyframe index: a video keyframe tag and its timestamp.
type Keyframe struct {
	Timestamp uint32 // milliseconds
	Offset    int64  // file offset of the tag's first byte
}

// DefaultIndexEntries is the default cap of a keyframe index: 2048 entries of one keyframe a
// second index 34 minutes keyframe by keyframe, and cost 36 KiB of metadata.
const DefaultIndexEntries = 2048

// Index is a keyframe index with a cap on its length. Past the cap it is thinned rather than
// cut: every other entry goes (the minimum spacing doubles), so the index still covers the whole
// file, only more coarsely. A seek then lands on an indexed keyframe up to one spacing before
// the one asked for; the Reader refines it by scanning forward, and ffmpeg decodes forward from
// there. This is what keeps the reserved metadata of a recording a fixed size whatever its
// duration, and what bounds the index a Reader builds from a hostile file.
type Index struct {
	entries []Keyframe
	max     int
	gap     uint64 // minimum spacing between entries kept, in ms; 0 keeps every keyframe
}

// NewIndex makes an index capped at max entries (at least 2).
func NewIndex(n int) *Index {
	return &Index{max: max(n, 2)}
}

// Entries returns the index, in file order (owned by the Index: do not modify).
func (x *Index) Entries() []Keyframe { return x.entries }

// Len is the number of entries.
func (x *Index) Len() int { return len(x.entries) }

// Add appends a keyframe. Keyframes that go back in time or in the file, and keyframes closer
// than the current spacing to the last entry, are not indexed.
func (x *Index) Add(k Keyframe) {
	if n := len(x.entries); n > 0 {
		last := x.entries[n-1]
		if k.Offset <= last.Offset || k.Timestamp < last.Timestamp ||
			uint64(k.Timestamp) < uint64(last.Timestamp)+x.gap {
			return
		}
	}
	x.entries = append(x.entries, k)
	if len(x.entries) > x.max {
		x.thin()
	}
}

// thin doubles the spacing until at most half the cap is left, so that thinning happens once
// per doubling of the recording, not once per keyframe.
func (x *Index) thin() {
	for len(x.entries) > x.max/2 && len(x.entries) > 1 {
		if x.gap == 0 {
			span := x.entries[len(x.entries)-1].Timestamp - x.entries[0].Timestamp
			x.gap = max(uint64(span)/uint64(len(x.entries)-1), 1)
		}
		x.gap *= 2 // past 2^32 only the first entry is left, so this ends
		kept := x.entries[:1]
		for _, e := range x.entries[1:] {
			if uint64(e.Timestamp) >= uint64(kept[len(kept)-1].Timestamp)+x.gap {
				kept = append(kept, e)
			}
		}
		clear(x.entries[len(kept):])
		x.entries = kept
	}
}

// At returns the last entry at or before t, or the first entry if t is before every entry;
// false if the index is empty.
func (x *Index) At(t uint32) (Keyframe, bool) {
	if len(x.entries) == 0 {
		return Keyframe{}, false
	}
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].Timestamp > t })
	return x.entries[max(i-1, 0)], true
}

// Last returns the last entry; false if the index is empty.
func (x *Index) Last() (Keyframe, bool) {
	if len(x.entries) == 0 {
		return Keyframe{}, false
	}
	return x.entries[len(x.entries)-1], true
}
