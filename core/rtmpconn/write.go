package rtmpconn

import (
	"sync"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/media"
)

// Chunk stream ids we write on, as FMS and nginx-rtmp do: protocol control on 2, commands on
// stream 0 on 3, commands and data on media streams on 5, audio on 6, video on 7.
const (
	csidControl = 2
	csidCommand = 3
	csidStream  = 5
	csidAudio   = 6
	csidVideo   = 7
)

// outMsg is one queued outbound message. Exactly one of payload (owned by the queue) and pkt
// (a shared media packet, released after the write) carries the bytes.
type outMsg struct {
	h         chunk.Header
	payload   []byte
	pkt       *media.Packet
	chunkSize uint32 // non-zero: switch the writer to this chunk size after this message
	closeConn bool   // close the connection once this message is written
}

func (m *outMsg) bytes() []byte {
	if m.pkt != nil {
		return m.pkt.Payload
	}
	return m.payload
}

// tickFlushBytes is the queue size at which media is written without waiting for the tick: a
// write this large already spreads its fixed cost over many bytes, and a high-bitrate stream's
// tick then never holds more than a fraction of a player's budget (which would make the hub
// skip a player that reads perfectly well).
const tickFlushBytes = 64 << 10

// outQueue sits between the producers and the writer goroutine. It is bounded in bytes: media
// beyond a subscriber's budget is refused (the hub then skips to the next keyframe), anything
// beyond the connection's hard limit closes it as a slow consumer.
type outQueue struct {
	mu     sync.Mutex
	list   *msgList // nil while nothing is queued
	bytes  int
	limit  int
	closed bool
	wake   atomic.Pointer[chan struct{}] // made with the first writer goroutine (most connections never start one)
}

// msgList is a batch of outbound messages. Lists come from a pool shared by every connection and
// go back once written: a connection holds one only while it has something to write, so an idle
// connection keeps none (a slice kept per connection, grown once by the connect answer, cost
// every idle client over half a kilobyte).
type msgList struct{ items []outMsg }

var msgLists = sync.Pool{New: func() any { return new(msgList) }}

// putList releases the packets of a written (or abandoned) list and pools it; the items of a
// burst (a late joiner's GOP) are dropped rather than pooled.
func putList(l *msgList) {
	releaseAll(l.items)
	l.items = l.items[:0]
	if cap(l.items) > keepEntries {
		l.items = nil
	}
	msgLists.Put(l)
}

func (q *outQueue) init(limit int) {
	q.limit = limit
}

// pushQuiet queues m without waking the writer (the caller writes or wakes). budget > 0 makes it
// a soft push (refused when the queue holds more than budget bytes); otherwise the hard limit
// applies and exceeding it reports overflow. queued is what the queue holds afterwards.
func (q *outQueue) pushQuiet(m outMsg, budget int) (ok, overflow bool, queued int) {
	n := len(m.bytes())
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed, budget > 0 && q.bytes+n > budget:
		return false, false, q.bytes
	case q.bytes+n > q.limit:
		return false, true, q.bytes
	}
	if q.list == nil {
		q.list = msgLists.Get().(*msgList)
	}
	q.list.items = append(q.list.items, m)
	q.bytes += n
	return true, false, q.bytes
}

// wakeWriter signals the writer goroutine, if one was ever started (a new one drains the queue
// before it waits for a signal).
func (q *outQueue) wakeWriter() {
	if wake := q.wake.Load(); wake != nil {
		select {
		case *wake <- struct{}{}:
		default:
		}
	}
}

// wakeChan returns the writer's wake-up channel, making it on first use (under the queue's lock:
// two first writers must not make two).
func (q *outQueue) wakeChan() chan struct{} {
	if wake := q.wake.Load(); wake != nil {
		return *wake
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.wake.Load() == nil {
		ch := make(chan struct{}, 1)
		q.wake.Store(&ch)
	}
	return *q.wake.Load()
}

// take hands over everything queued (nil when nothing is); the queue starts a new list with the
// next push.
func (q *outQueue) take() *msgList {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.list
	q.list = nil
	q.bytes = 0
	return l
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	l := q.list
	q.list = nil
	q.bytes = 0
	q.mu.Unlock()
	if l != nil {
		putList(l)
	}
	q.wakeWriter()
}

func releaseAll(items []outMsg) {
	for i := range items {
		if items[i].pkt != nil {
			items[i].pkt.Release()
			items[i].pkt = nil
		}
		items[i].payload = nil
	}
}

// SendMedia queues a shared media packet for stream streamID with this subscriber's timestamp.
// It never blocks and never writes on the caller's goroutine (a stream hub delivering under its
// lock): the connection's media tick writes it with what follows at most
// Config.MediaFlushInterval later (the player's flush interval, see adaptMediaFlush), and the
// writer goroutine at once when the queue reaches tickFlushBytes or a quarter of budget. Flush
// writes what is queued at once. False means the queue holds more than budget bytes (the
// caller skips ahead); on true the connection owns one reference of p.
func (c *Conn) SendMedia(streamID uint32, p *media.Packet, ts uint32, budget int) bool {
	csid := uint32(csidVideo)
	if p.TypeID == 8 {
		csid = csidAudio
	} else if p.TypeID != 9 {
		csid = csidStream
	}
	m := outMsg{pkt: p, h: chunk.Header{CSID: csid, Timestamp: ts, Length: uint32(len(p.Payload)), TypeID: p.TypeID, StreamID: streamID}}
	if budget <= 0 {
		budget = c.cfg.MaxQueuedBytes
	}
	ok, _, queued := c.out.pushQuiet(m, budget)
	t := c.tick.Load()
	switch {
	case !ok:
	case t == nil, queued >= min(tickFlushBytes, budget/4):
		c.wakeWriter()
	case !c.inTick.Swap(true):
		t.add(c)
	}
	return ok
}

// Flush writes what is queued now, from the caller when the socket takes it at once: a
// player's start (its first keyframe) must not wait for the media tick. Call it outside any
// lock a producer holds.
func (c *Conn) Flush() { c.writeSoon() }

// send queues an owned payload; exceeding the hard limit closes the connection. Unless corked it
// wakes the writer goroutine rather than writing from the caller: senders that fan out (a shared
// object's update to its subscribers, under the registry's lock; an app's broadcast from its
// loop) would otherwise make one system call per subscriber in turn, where writers spread over
// the cores and take several messages per write when they lag. A corked sequence is written by
// the end of its Corked section at once: the connect answer needs no writer goroutine (a burst of connecting
// clients would start one each, and the runtime never frees a goroutine's record).
func (c *Conn) send(m outMsg) error {
	m.h.Length = uint32(len(m.payload))
	ok, overflow, _ := c.out.pushQuiet(m, 0)
	if ok && c.corked.Load() == 0 {
		c.wakeWriter()
	}
	if overflow {
		c.log.Warn().Int("limit", c.cfg.MaxQueuedBytes).Msg("closing slow consumer: outbound queue full")
		c.Close(ErrSlowConsumer)
	}
	if !ok {
		return ErrClosed
	}
	return nil
}

// Corked runs fn with the writer held back, then writes what fn queued from the calling
// goroutine when the socket takes it at once: messages that belong together (the connect answer:
// window, bandwidth, stream begin, chunk size, _result, onBWDone) leave in one write instead of
// one each, or once something they announce is true (Play.Start once the player is subscribed),
// and a goroutine that owns a conversation (an edge session, the idle ping, the app's loop
// answering connect) writes without waking the connection's writer goroutine. Corked sections
// nest. The hold is taken and released by the same call, so no goroutine can leave it to another.
func (c *Conn) Corked(fn func()) {
	c.cork()
	defer c.uncork()
	fn()
}

func (c *Conn) cork() { c.corked.Add(1) }

func (c *Conn) uncork() {
	if c.corked.Add(-1) == 0 {
		c.writeSoon()
	}
}

// SendProtocol queues a protocol-control or user-control message (chunk stream 2, stream 0).
func (c *Conn) SendProtocol(typeID uint8, payload []byte) error {
	return c.send(outMsg{h: chunk.Header{CSID: csidControl, TypeID: typeID}, payload: payload})
}

// SendMessage queues an arbitrary message on a stream (the chunk stream is chosen by type).
func (c *Conn) SendMessage(streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	csid := uint32(csidStream)
	if streamID == 0 {
		csid = csidCommand
	}
	return c.send(outMsg{h: chunk.Header{CSID: csid, TypeID: typeID, StreamID: streamID, Timestamp: ts}, payload: payload})
}

func chunkHeaderControl(typeID uint8) chunk.Header {
	return chunk.Header{CSID: csidControl, TypeID: typeID}
}
