package trunk

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/fmsgo/fmsgo/core/media"
)

// Send queues a control-priority message for id (0 = the trunk). A SessionMessage is charged to
// the session's credit and fails fast with ErrBackpressure when it is used up, so one slow client
// never fills the trunk. SessionOpen and SessionVerdict with Window 0 get this side's
// SessionWindow. Byte slices in m are copied: the caller may reuse them.
func (c *Conn) Send(id uint32, m Message) error {
	switch v := m.(type) {
	case SessionMessage:
		return c.SendSession(id, v)
	case SessionOpen:
		if v.Window == 0 {
			v.Window = c.cfg.SessionWindow
		}
		m = v
	case SessionVerdict:
		if v.Window == 0 {
			v.Window = c.cfg.SessionWindow
		}
		if v.Status != VerdictAccept {
			c.credits.forget(id)
		}
		m = v
	case SessionClose:
		c.credits.forget(id)
	case StreamMedia:
		return c.SendMedia(id, v)
	}
	return c.sendCtrl(id, m)
}

// SendSession queues one session message, charged to the session's credit.
func (c *Conn) SendSession(id uint32, m SessionMessage) error {
	cost := int64(HeaderSize + 9 + len(m.Payload))
	if cost-4 > int64(c.link.PeerMaxFrame) {
		return fmt.Errorf("%w: session %d: %d bytes", ErrTooLarge, id, cost)
	}
	cr := c.credits.get(id)
	if cr == nil {
		return fmt.Errorf("%w: %d", ErrUnknownSession, id)
	}
	if !cr.take(cost) {
		return fmt.Errorf("%w: session %d", ErrBackpressure, id)
	}
	if err := c.pushCtrl(KindSessionMessage, id, appendSessionFrame(make([]byte, 0, cost), id, m)); err != nil {
		cr.avail.Add(cost)
		return err
	}
	return nil
}

// SendSessionAfterMedia is SendSession for a message that must not overtake the media queued
// before it: it waits in the media lane, behind that media (an edge publisher's closeStream after
// its last frames, which the origin must take into the stream, and into a recording, first).
// When the media lane is full (its media is being dropped anyway) it goes in the control lane.
func (c *Conn) SendSessionAfterMedia(id uint32, m SessionMessage) error {
	cost := int64(HeaderSize + 9 + len(m.Payload))
	if cost-4 > int64(c.link.PeerMaxFrame) {
		return fmt.Errorf("%w: session %d: %d bytes", ErrTooLarge, id, cost)
	}
	cr := c.credits.get(id)
	if cr == nil {
		return fmt.Errorf("%w: %d", ErrUnknownSession, id)
	}
	if !cr.take(cost) {
		return fmt.Errorf("%w: session %d", ErrBackpressure, id)
	}
	frame := appendSessionFrame(make([]byte, 0, cost), id, m)
	err := c.q.push(true, entry{data: frame})
	if errors.Is(err, ErrQueueFull) {
		err = c.pushCtrl(KindSessionMessage, id, frame)
	}
	if err != nil {
		cr.avail.Add(cost)
		return err
	}
	return nil
}

// SendMedia queues one media message on a channel at media priority. The payload is referenced,
// not copied, and must not change until written (see SendPacket for a payload that is recycled).
// When the media queue is full the message is dropped, counted, and ErrQueueFull returned: the
// caller's live logic decides what to skip next (typically up to the next keyframe).
func (c *Conn) SendMedia(id uint32, m StreamMedia) error {
	return c.pushMedia(id, m, nil, 0)
}

// SendPacket queues a hub packet on a channel at media priority, by reference: no copy of the
// payload. On success the queue owns the caller's reference of p and releases it once the frame
// is written, or when the trunk closes with it still queued, so the payload's pooled buffer is
// not recycled while the writer may still read it. On error (ErrQueueFull, ErrClosed,
// ErrTooLarge) the reference stays the caller's. ts is the timestamp to send, which may differ
// from p's (a subscriber's own timeline).
func (c *Conn) SendPacket(id uint32, p *media.Packet, ts uint32) error {
	return c.pushMedia(id, StreamMedia{Type: p.TypeID, Timestamp: ts, Payload: p.Payload}, p, 0)
}

// pushMedia queues one media frame holding pkt's reference (if any), preceded by a StreamGap
// frame when gap > 0.
func (c *Conn) pushMedia(id uint32, m StreamMedia, pkt *media.Packet, gap uint32) error {
	if len(m.Payload)+10 > c.link.PeerMaxFrame {
		return fmt.Errorf("%w: channel %d: %d bytes", ErrTooLarge, id, len(m.Payload))
	}
	e := mediaEntry(id, m, gap)
	e.pkt = pkt
	err := c.q.push(true, e)
	if err == ErrQueueFull {
		c.mediaDrops.Add(1)
	}
	return err
}

// Ack returns n bytes of credit for session id to the peer, after the local consumer took
// messages of that size. A Mux does this itself.
func (c *Conn) Ack(id uint32, n uint32) error {
	b := AppendHeader(make([]byte, 0, HeaderSize+4), KindSessionAck, id, 4)
	return c.pushCtrl(KindSessionAck, id, SessionAck{Bytes: n}.AppendBody(b))
}

// ctrlFrameCap is the buffer a control frame is encoded into: most (pings, acks, verdicts, small
// calls) fit, so one allocation per frame instead of one per growth step.
const ctrlFrameCap = 128

func (c *Conn) sendCtrl(id uint32, m Message) error {
	return c.pushCtrl(m.Kind(), id, AppendFrame(make([]byte, 0, ctrlFrameCap), id, m))
}

// pushCtrl queues one encoded control frame.
func (c *Conn) pushCtrl(k Kind, id uint32, frame []byte) error {
	if len(frame)-4 > c.link.PeerMaxFrame {
		return fmt.Errorf("%w: %s to %d: %d bytes", ErrTooLarge, k, id, len(frame))
	}
	if err := c.q.push(false, entry{data: frame}); err != nil {
		return fmt.Errorf("trunk: send %s to %d: %w", k, id, err)
	}
	return nil
}

// writeLoop is the only writer of the socket. It also sends the heartbeat: a Ping every interval,
// whatever else is flowing, so that the peer's dead-trunk timer measures the link, not traffic.
func (c *Conn) writeLoop() {
	defer close(c.wdone)
	tick := time.NewTicker(c.cfg.HeartbeatInterval)
	defer tick.Stop()
	w := writer{c: c}
	for {
		select {
		case <-c.done:
			w.flushCtrl() // a last frame queued before the close (the shutdown notice)
			return
		case <-tick.C:
			_ = c.sendCtrl(0, Ping{Time: uint64(time.Since(c.start))})
		case <-c.q.wake:
		}
		c.gather()
		if err := w.flush(); err != nil {
			c.fail(err)
			return
		}
	}
}

// gatherBytes is the queued size below which the writer yields once before writing: frames that
// producers running right now are about to queue then go in the same write syscall.
const gatherBytes = 16 << 10

// gather lets other runnable goroutines (client readers forwarding calls, sessions answering) queue
// their frames before the writer takes the queue: on a busy trunk one writev then carries many
// small frames instead of one each, which is most of what a relayed call costs. On an idle process
// the yield returns at once.
func (c *Conn) gather() {
	if ctrl, med := c.q.queued(); ctrl+med < gatherBytes {
		runtime.Gosched()
	}
}

// writer holds the writer goroutine's reused slices.
type writer struct {
	c           *Conn
	ctrl, media []entry
	bufs        net.Buffers
}

// flush writes everything queued, control first, and re-checks the control queue after every
// media batch so that control frames wait at most one batch.
func (w *writer) flush() error {
	for {
		if err := w.flushCtrl(); err != nil {
			return err
		}
		w.media = w.c.q.takeMedia(w.media)
		if len(w.media) == 0 {
			return nil
		}
		if err := w.flushMedia(); err != nil {
			return err
		}
	}
}

func (w *writer) flushCtrl() error {
	w.ctrl = w.c.q.takeCtrl(w.ctrl)
	if len(w.ctrl) == 0 {
		return nil
	}
	return w.write(w.ctrl)
}

// flushMedia writes the taken media in batches; on a failure, what was not written is released.
func (w *writer) flushMedia() (err error) {
	batch := w.media
	defer func() {
		if err != nil {
			releaseAll(batch)
		}
	}()
	for len(batch) > 0 {
		n, size := 0, 0
		for n < len(batch) && (n == 0 || size < w.c.cfg.MediaBatch) {
			size += batch[n].size()
			n++
		}
		err = w.write(batch[:n])
		w.c.q.releaseMedia(size)
		batch = batch[n:]
		if err != nil {
			return err
		}
		if len(batch) > 0 && w.c.q.hasCtrl() {
			if err := w.flushCtrl(); err != nil {
				return err
			}
		}
	}
	return nil
}

// write sends entries in one writev, then releases their packets (written or not: after a failed
// write the trunk is ending) and clears them so their payloads can be collected.
func (w *writer) write(es []entry) error {
	w.bufs = w.bufs[:0]
	for i := range es {
		if es[i].hn > 0 {
			w.bufs = append(w.bufs, es[i].hdr[:es[i].hn])
		}
		w.bufs = append(w.bufs, es[i].data)
	}
	nc := w.c.link.NetConn
	if err := nc.SetWriteDeadline(time.Now().Add(w.c.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("trunk: set write deadline: %w", err)
	}
	bufs := w.bufs // WriteTo consumes its receiver; keep w.bufs' backing array
	n, err := bufs.WriteTo(nc)
	w.c.writes.Add(1)
	w.c.bytesOut.Add(n)
	clear(w.bufs)
	releaseAll(es)
	if err != nil {
		return fmt.Errorf("trunk: write: %w", err)
	}
	return nil
}
