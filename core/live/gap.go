package live

import "github.com/fmsgo/fmsgo/core/media"

// MarkGap tells the hub that the publisher's media has a hole: messages were lost before they
// reached it (an edge dropped them on a full trunk). From now until the next video keyframe no
// video reaches any player, and the GOP cache is emptied, so neither a player nor a joiner
// decodes P-frames whose reference frame is missing; audio goes on. A stream that has shown no
// video yet has nothing to protect and ignores it.
func (pb *Publication) MarkGap() {
	st := pb.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if pb.closed || !st.hasVideo {
		return
	}
	st.gapWait = true
	st.gop.clear()
}

// dropForGap reports whether p is video the publication must not deliver while it waits for
// the keyframe after a gap; that keyframe ends the wait. Called under st.mu.
func (st *stream) dropForGap(p *media.Packet) bool {
	if !st.gapWait || p.TypeID != 9 || p.SeqHeader {
		return false
	}
	if p.Keyframe {
		st.gapWait = false
		return false
	}
	return true
}
