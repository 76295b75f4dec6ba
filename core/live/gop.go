package live

import "github.com/fmsgo/fmsgo/core/media"

// gopCache is the media a late joiner gets at once: from a keyframe to the live edge. It keeps
// the GOP of the last keyframe and, when that GOP is still short, the GOPs before it, so that a
// joiner is handed at least joinFrames video frames: ffmpeg and ffplay (libavformat) estimate an
// H.264 stream's frame rate from 40 frame durations at FLV's millisecond time base before they
// decode anything, so with fewer frames at hand they wait for the rest in real time (a second or
// more). An older GOP is kept only while its keyframe is at most maxBehind behind the live edge,
// and the whole cache within maxBytes. Guarded by the stream's lock.
type gopCache struct {
	pkts  []*media.Packet // from the oldest kept keyframe on
	keys  []gopKey        // the keyframes in pkts, oldest first
	video int             // video frames in pkts
	bytes int

	joinFrames int    // video frames a joiner should get at once, when cached
	maxBehind  uint32 // ms: how far behind the live edge an older GOP may start
	maxBytes   int
}

// gopKey is one keyframe in the cache: its index and the number of video frames before it.
type gopKey struct {
	at, videoBefore int
}

// add keeps p if a joiner needs it; lastTS is the stream's latest audio/video timestamp.
func (g *gopCache) add(p *media.Packet, lastTS uint32) {
	key := p.TypeID == 9 && p.Keyframe
	if !key && len(g.pkts) == 0 {
		return // nothing before the first keyframe is worth keeping
	}
	if len(p.Payload) > g.maxBytes-g.bytes && !g.fit(len(p.Payload), key) {
		g.clear() // a GOP this long is no use to a joiner; wait for the next keyframe
		return
	}
	if key {
		g.keys = append(g.keys, gopKey{at: len(g.pkts), videoBefore: g.video})
	}
	g.pkts = append(g.pkts, p.Retain())
	g.bytes += len(p.Payload)
	if p.TypeID == 9 {
		g.video++
	}
	g.trim(lastTS)
}

// fit drops the oldest GOPs until n more bytes fit, the last one too when a keyframe starts a new
// GOP; false if n does not fit even so.
func (g *gopCache) fit(n int, key bool) bool {
	for len(g.keys) > 0 && n > g.maxBytes-g.bytes {
		switch {
		case len(g.keys) > 1:
			g.dropFirstGOP()
		case key:
			g.clear()
		default:
			return false
		}
	}
	return n <= g.maxBytes-g.bytes
}

// trim drops the oldest GOP while the next one already gives a joiner joinFrames video frames,
// or while its keyframe is more than maxBehind behind the live edge.
func (g *gopCache) trim(lastTS uint32) {
	for len(g.keys) > 1 {
		enough := g.video-g.keys[1].videoBefore >= g.joinFrames
		tooOld := int32(lastTS-g.pkts[0].Timestamp) > int32(g.maxBehind)
		if !enough && !tooOld {
			return
		}
		g.dropFirstGOP()
	}
}

func (g *gopCache) dropFirstGOP() {
	n, v := g.keys[1].at, g.keys[1].videoBefore
	for _, p := range g.pkts[:n] {
		g.bytes -= len(p.Payload)
		p.Release()
	}
	rest := copy(g.pkts, g.pkts[n:])
	clear(g.pkts[rest:])
	g.pkts = g.pkts[:rest]
	g.keys = append(g.keys[:0], g.keys[1:]...)
	for i := range g.keys {
		g.keys[i].at -= n
		g.keys[i].videoBefore -= v
	}
	g.video -= v
}

// clear releases everything.
func (g *gopCache) clear() {
	for _, p := range g.pkts {
		p.Release()
	}
	clear(g.pkts)
	g.pkts, g.keys, g.video, g.bytes = g.pkts[:0], g.keys[:0], 0, 0
}

// joinBurst is what a joiner gets: from the newest keyframe followed by at least joinFrames video
// frames, else from the oldest kept one (which trim keeps within maxBehind of the live edge).
func (g *gopCache) joinBurst() []*media.Packet {
	if len(g.keys) == 0 {
		return nil
	}
	for i := len(g.keys) - 1; i > 0; i-- {
		if g.video-g.keys[i].videoBefore >= g.joinFrames {
			return g.pkts[g.keys[i].at:]
		}
	}
	return g.pkts
}
