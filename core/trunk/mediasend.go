package trunk

import (
	"errors"

	"github.com/fmsgo/fmsgo/core/media"
)

// MediaSender sends one channel's media (an edge client's publish) and marks the gaps its drops
// make: when the trunk's media queue is full a message is dropped, the video after it is dropped
// too until the next keyframe (the receiver could not decode it), and the first message that
// goes out afterwards is preceded by a StreamGap frame, so the receiver's players skip to that
// keyframe instead of decoding P-frames whose reference never arrived. It is owned by one
// goroutine (the publisher's read loop).
type MediaSender struct {
	conn *Conn
	ch   uint32

	skipVideo bool   // a drop happened: no video until a keyframe went out
	pending   uint32 // messages dropped since the last one sent; > 0 means a gap mark is due
	drops     uint64 // messages dropped in all
}

// NewMediaSender sends on channel ch of c.
func NewMediaSender(c *Conn, ch uint32) *MediaSender { return &MediaSender{conn: c, ch: ch} }

// Send queues p (by reference) and always takes over the caller's reference: it is released once
// written or at once when the message is dropped. It returns nil when queued, ErrQueueFull when p
// was dropped for a full queue or because the video after a drop waits for a keyframe, and
// another error (ErrClosed, ErrTooLarge) when the trunk cannot take it at all.
func (s *MediaSender) Send(p *media.Packet) error {
	video := p.TypeID == 9
	key := video && p.Keyframe // read before the push: once queued, p may be written and recycled
	if s.skipVideo && video && !key && !p.SeqHeader {
		s.drop()
		p.Release()
		return ErrQueueFull
	}
	m := StreamMedia{Type: p.TypeID, Timestamp: p.Timestamp, Payload: p.Payload}
	err := s.conn.pushMedia(s.ch, m, p, s.pending)
	switch {
	case err == nil:
		s.pending = 0
		if key {
			s.skipVideo = false
		}
		return nil
	case errors.Is(err, ErrQueueFull):
		s.drop()
		s.skipVideo = true
	}
	p.Release()
	return err
}

func (s *MediaSender) drop() {
	s.drops++
	if s.pending < ^uint32(0) {
		s.pending++
	}
}

// Drops is the number of messages dropped so far.
func (s *MediaSender) Drops() uint64 { return s.drops }
