package vod

import (
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
)

// state is a Player's position, filters and clock, owned by its goroutine (NewPlayer sets it up
// before the goroutine starts).
type state struct {
	pos     int64  // start of the block to read next (when cur is nil)
	cur     *block // the block being played, with this player's reference
	idx     int    // next message in cur
	startTS uint32 // the sync point the play (or its last seek) started at
	lastTS  uint32 // of the last message sent (the file's)
	offset  uint32 // subtracted from the file's timestamps (Request.Rebase)
	stopAt  int64  // last timestamp to play: Len after the start's keyframe; -1: to the end
	oneFrame,
	ended, damaged bool
	burst                 bool // the next media batch follows a start or seek: flush it
	audio, video, wantKey bool
	out                   []outItem // control messages to send before the next media
	clock                 clock
}

func (s *state) init(req Request) {
	s.audio, s.video, s.stopAt = true, true, -1
	s.oneFrame, s.burst = req.Len == 0, true
}

// outItem is one queued control message: a user control event, a status, or a data or header
// message (with this player's reference) at timestamp at.
type outItem struct {
	isEvent bool
	event   uint16
	status  *amf.Object
	pkt     *media.Packet
	at      uint32
}

// queueStart queues what a player needs before the media of its start or seek: the file's
// metadata, at 0 as in a file (ffmpeg makes a subtitle stream of an onMetaData at another time),
// and its sequence headers at the start's timestamp.
func (s *state) queueStart(f *File) {
	if m := f.format.Metadata(); m != nil {
		s.out = append(s.out, outItem{pkt: m.Retain(), at: 0})
	}
	for _, h := range f.format.Headers() {
		s.out = append(s.out, outItem{pkt: h.Retain(), at: s.sent(s.startTS)})
	}
}

// sent is the timestamp a message of the file's timestamp ts is sent with.
func (s *state) sent(ts uint32) uint32 {
	if ts < s.offset {
		return 0
	}
	return ts - s.offset
}

// skip reports whether pkt is left out: receiveAudio/receiveVideo off, or video before the
// keyframe a player waits for after receiveVideo(true) or a seek.
func (s *state) skip(pkt *media.Packet) bool {
	switch pkt.TypeID {
	case 8:
		return !s.audio
	case 9:
		if !s.video {
			return true
		}
		if s.wantKey && !pkt.Keyframe && !pkt.SeqHeader {
			return true
		}
		if pkt.Keyframe {
			s.wantKey = false
		}
	}
	return false
}

// drop gives back the current block and the queued messages' references.
func (s *state) drop(f *File) {
	if s.cur != nil {
		s.pos = s.cur.next
		f.release(s.cur)
		s.cur, s.idx = nil, 0
	}
	s.dropOut()
}

func (s *state) dropOut() {
	for _, it := range s.out {
		if it.pkt != nil {
			it.pkt.Release()
		}
	}
	s.out = nil
}

// clock maps media time to wall time: a message is due Lead before its timestamp's place on the
// wall, counted from the start (or the last seek); pauses and the time a full client refused
// messages stop it.
type clock struct {
	wall    time.Time // when the media time ts was (or would have been) played
	ts      uint32
	paused  bool
	pauseAt time.Time
	blocked time.Time // since when the sink refuses (zero: it does not)
}

// restart anchors media time ts at now (a start, a seek, an end).
func (c *clock) restart(ts uint32, now time.Time) {
	c.wall, c.ts, c.blocked = now, ts, time.Time{}
	if c.paused {
		c.pauseAt = now
	}
}

// due is when a message of timestamp ts should be sent.
func (c *clock) due(ts uint32, lead time.Duration) time.Time {
	d := time.Duration(int64(ts)-int64(c.ts)) * time.Millisecond
	return c.wall.Add(d - lead)
}

func (c *clock) pause(on bool, now time.Time) {
	switch {
	case on && !c.paused:
		c.paused, c.pauseAt = true, now
	case !on && c.paused:
		c.paused = false
		c.wall = c.wall.Add(now.Sub(c.pauseAt))
	}
}

// block notes that the sink refused a message at now; unblock moves the clock by the time it
// refused.
func (c *clock) block(now time.Time) {
	if c.blocked.IsZero() {
		c.blocked = now
	}
}

func (c *clock) unblock(now time.Time) {
	if !c.blocked.IsZero() {
		c.wall = c.wall.Add(now.Sub(c.blocked))
		c.blocked = time.Time{}
	}
}
