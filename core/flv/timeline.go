package flv

// timeline maps the stream's timestamps onto the file's: the first frame at start (0, or
// where an appended part begins), later ones by their signed 32-bit distance to the previous
// message, which survives the wrap of RTMP timestamps and small steps back between audio and
// video. Sequence headers and data before the first frame go at start.
type timeline struct {
	start   int64
	started bool
	last    uint32
	rel     int64
}

func (tl *timeline) at(ts uint32, frame bool) int64 {
	if !tl.started {
		if frame {
			tl.started, tl.last = true, ts
		}
		return tl.start
	}
	tl.rel += int64(int32(ts - tl.last))
	tl.last = ts
	return tl.start + max(tl.rel, 0)
}

// track follows one media type for the duration: its last timestamp and frame interval.
type track struct {
	last, delta int64
	seen        bool
}

func (t *track) add(ts int64) {
	if t.seen && ts > t.last {
		t.delta = min(ts-t.last, 1000)
	}
	t.last, t.seen = max(t.last, ts), true
}

func (t *track) end() int64 {
	if !t.seen {
		return 0
	}
	return t.last + t.delta
}
