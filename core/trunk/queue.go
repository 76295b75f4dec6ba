package trunk

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/fmsgo/fmsgo/core/media"
)

// ErrQueueFull is returned when a queue's byte cap is reached: for media the caller drops (the live
// layer then waits for the next keyframe), for control frames the trunk is failing.
var ErrQueueFull = errors.New("trunk: outbound queue full")

// mediaHdrSize is the frame header plus StreamMedia's fixed fields (type, timestamp).
const mediaHdrSize = HeaderSize + 5

// gapFrameSize is a whole StreamGap frame, which may precede a media frame in the same entry.
const gapFrameSize = HeaderSize + 4

// entry is one queued frame: either a fully encoded frame in data (control), or a header in hdr
// followed by a payload that is referenced, not copied (media: payloads are immutable and shared
// by every trunk that carries them). A media entry whose payload is a hub packet holds one of its
// references in pkt, released once the frame is written or dropped (release). A media entry's
// hdr may start with a StreamGap frame, so that the gap mark and the message after it are
// queued, dropped and written together.
type entry struct {
	hdr  [gapFrameSize + mediaHdrSize]byte
	hn   uint8
	data []byte
	pkt  *media.Packet
}

func (e *entry) size() int { return int(e.hn) + len(e.data) }

// release gives back the entry's packet reference, if any; an entry is released exactly once,
// by whoever last owns it (the writer after writing, the queue when it drops it).
func (e *entry) release() {
	if e.pkt != nil {
		e.pkt.Release()
		e.pkt = nil
	}
}

// releaseAll releases every entry of es and clears them so their payloads can be collected.
func releaseAll(es []entry) {
	for i := range es {
		es[i].release()
	}
	clear(es)
}

// mediaEntry encodes m's header; gap > 0 puts a StreamGap{Dropped: gap} frame before it.
func mediaEntry(id uint32, m StreamMedia, gap uint32) entry {
	var e entry
	b := e.hdr[:0]
	if gap > 0 {
		b = StreamGap{Dropped: gap}.AppendBody(AppendHeader(b, KindStreamGap, id, 4))
	}
	b = AppendHeader(b, KindStreamMedia, id, 5+len(m.Payload))
	b = binary.BigEndian.AppendUint32(append(b, m.Type), m.Timestamp)
	e.hn = uint8(len(b))
	e.data = m.Payload
	return e
}

// outQueue sits between many producers and the one writer goroutine. Control frames (handshake
// follow-ups, sessions, acks, heartbeats) and media are queued apart so that the writer can always
// put control first: a burst of video never delays a connect verdict or a pong by more than one
// media batch. Each level is capped in bytes; media bytes are released only once written, so the
// cap bounds memory honestly.
type outQueue struct {
	mu         sync.Mutex
	ctrl       []entry
	media      []entry
	ctrlBytes  int
	mediaBytes int // queued plus taken-but-unwritten
	maxCtrl    int
	maxMedia   int
	closed     bool
	wake       chan struct{}
}

func newOutQueue(maxCtrl, maxMedia int) *outQueue {
	return &outQueue{maxCtrl: maxCtrl, maxMedia: maxMedia, wake: make(chan struct{}, 1)}
}

func (q *outQueue) push(media bool, e entry) error {
	n := e.size()
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case media && q.mediaBytes+n > q.maxMedia:
		q.mu.Unlock()
		return ErrQueueFull
	case !media && q.ctrlBytes+n > q.maxCtrl:
		q.mu.Unlock()
		return ErrQueueFull
	case media:
		q.media = append(q.media, e)
		q.mediaBytes += n
	default:
		q.ctrl = append(q.ctrl, e)
		q.ctrlBytes += n
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// takeCtrl swaps the queued control frames for buf (the writer's emptied slice).
func (q *outQueue) takeCtrl(buf []entry) []entry {
	q.mu.Lock()
	out := q.ctrl
	q.ctrl = buf[:0]
	q.ctrlBytes = 0
	q.mu.Unlock()
	return out
}

// takeMedia swaps the queued media frames for buf; their bytes stay counted until releaseMedia.
func (q *outQueue) takeMedia(buf []entry) []entry {
	q.mu.Lock()
	out := q.media
	q.media = buf[:0]
	q.mu.Unlock()
	return out
}

func (q *outQueue) hasCtrl() bool {
	q.mu.Lock()
	n := len(q.ctrl)
	q.mu.Unlock()
	return n > 0
}

func (q *outQueue) releaseMedia(n int) {
	q.mu.Lock()
	q.mediaBytes -= n
	q.mu.Unlock()
}

// close refuses further frames and drops queued media (its packet references are released);
// queued control frames stay for the writer's last flush. Media the writer already took is the
// writer's to release.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	releaseAll(q.media)
	q.media = nil
	q.mu.Unlock()
}

// room reports whether n more media bytes fit now (benchmarks wait for it instead of dropping).
func (q *outQueue) room(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.mediaBytes+n <= q.maxMedia
}

func (q *outQueue) queued() (ctrl, media int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ctrlBytes, q.mediaBytes
}
