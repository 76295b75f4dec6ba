package vod

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// Sink is where a Player's messages go: one NetStream of a client (netstream.Player over an
// RTMP connection; the origin's trunk session for an edge client). Its methods never block;
// false means the client's queue is full: the player keeps the message, tries again a little
// later and stops its clock meanwhile, so a slow client slows its own playback and loses no
// frame.
type Sink interface {
	// Deliver queues p with timestamp ts; on true the sink owns one reference of p.
	Deliver(p *media.Packet, ts uint32) bool
	// Status sends an onStatus on the play's stream.
	Status(info *amf.Object) bool
	// Event sends a user control event (StreamBegin, StreamEOF, StreamIsRecorded) about the
	// play's stream.
	Event(ev uint16) bool
	// Flush writes what is queued now: a start or a seek must not wait for the media tick.
	Flush()
}

// Request is what a play asks of a file (FMS's play(name, start, len)); the session has
// applied the start rules already.
type Request struct {
	// Start (ms): the play starts at the sync point at or before it.
	Start uint32
	// Len (ms) is how long to play from the start's keyframe: negative to the end, 0 that
	// keyframe only.
	Len int64
	// Stop is the status that ends the play when the file or Len runs out
	// (NetStream.Play.Stop), after onPlayStatus NetStream.Play.Complete and StreamEOF.
	Stop *amf.Object
	// Rebase sends the play's timestamps counted from its start (its first keyframe at 0) until
	// a seek, which sends the file's own: the session's rule for plays from a start (librtmp
	// adds its start to what it gets).
	Rebase bool
	Log    zerolog.Logger
}

// Player is one play of a File. Its goroutine (Start) owns everything but the mailbox and the
// counters.
type Player struct {
	f      *File
	cfg    Config
	req    Request
	sink   Sink
	box    *mailbox
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	bytes  atomic.Uint64
	ended  atomic.Bool
	// stopOnce makes Stop idempotent (the file is closed once).
	stopOnce sync.Once

	s state // the goroutine's
}

// NewPlayer finds the play's start in f (a keyframe index lookup, or a scan of a file without
// one). On success the Player owns f (Stop closes it); on error f stays the caller's.
func NewPlayer(f *File, req Request) (*Player, error) {
	pos, ts, err := f.seek(req.Start)
	if err != nil {
		return nil, fmt.Errorf("vod: %s: %w", f.path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Player{f: f, cfg: f.lib.cfg, req: req, box: newMailbox(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	p.s.init(req)
	p.s.pos, p.s.startTS = pos, ts
	if req.Rebase {
		p.s.offset = ts
	}
	if req.Len >= 0 {
		p.s.stopAt = int64(ts) + req.Len
	}
	return p, nil
}

// StartTimestamp is the timestamp (ms) of the sync point the play starts at.
func (p *Player) StartTimestamp() uint32 { return p.s.startTS }

// Start runs the play into sink on a goroutine of its own: metadata and sequence headers, then
// the file's messages from the start, paced at real time Lead ahead.
func (p *Player) Start(sink Sink) {
	p.sink = sink
	go p.run()
}

// Pause stops (true) or resumes (false) the play where it is.
func (p *Player) Pause(on bool) { p.box.post(func(c *commands) { c.pause = boolPtr(on) }) }

// ReceiveAudio turns audio on or off (NetStream.receiveAudio).
func (p *Player) ReceiveAudio(on bool) { p.box.post(func(c *commands) { c.audio = boolPtr(on) }) }

// ReceiveVideo turns video on or off; turned on, it resumes at the next keyframe.
func (p *Player) ReceiveVideo(on bool) { p.box.post(func(c *commands) { c.video = boolPtr(on) }) }

// Seek moves the play to the keyframe at or before ms: the client gets StreamEOF,
// StreamIsRecorded, StreamBegin, then notify (NetStream.Seek.Notify) and start
// (NetStream.Play.Start), then the metadata, sequence headers and media from there. A play
// that had ended plays again.
func (p *Player) Seek(ms uint32, notify, start *amf.Object) {
	p.box.post(func(c *commands) { c.seek = &seekRequest{ms: ms, notify: notify, start: start} })
}

// Stop ends the play and waits for its goroutine (it only ever waits on the file or the
// mailbox), then closes the file. It sends nothing: the caller sends the play's end.
func (p *Player) Stop() {
	p.stopOnce.Do(p.stop)
}

func (p *Player) stop() {
	p.box.post(func(c *commands) { c.stop = true })
	p.cancel()
	if p.sink != nil {
		<-p.done
	}
	p.s.drop(p.f)
	p.f.Close()
}

// Ended reports whether the play reached its end by itself (Play.Stop already sent).
func (p *Player) Ended() bool { return p.ended.Load() }

// BytesOut is the payload bytes handed to the sink so far.
func (p *Player) BytesOut() uint64 { return p.bytes.Load() }

// run is the play's goroutine.
func (p *Player) run() {
	defer close(p.done)
	s := &p.s
	s.clock.restart(s.startTS, time.Now())
	s.queueStart(p.f)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		cmd := p.box.take()
		if cmd.stop {
			return
		}
		p.apply(cmd)
		wait := p.step(time.Now())
		if !p.sleep(timer, wait) {
			return
		}
	}
}

// sleep waits d (forever when negative) or until a command arrives; false when stopped.
func (p *Player) sleep(t *time.Timer, d time.Duration) bool {
	var tick <-chan time.Time
	if d >= 0 {
		t.Reset(d)
		tick = t.C
		defer t.Stop()
	}
	select {
	case <-tick:
	case <-p.box.wake:
	case <-p.ctx.Done():
		return false
	}
	return true
}

// apply performs the session's commands in the order that keeps them meaningful.
func (p *Player) apply(c commands) {
	s := &p.s
	now := time.Now()
	if c.audio != nil {
		s.audio = *c.audio
	}
	if c.video != nil {
		s.wantKey = s.wantKey || (*c.video && !s.video)
		s.video = *c.video
	}
	if c.seek != nil {
		p.seek(*c.seek, now)
	}
	if c.pause != nil {
		s.clock.pause(*c.pause, now)
	}
}

// seek repositions the play. A failed lookup (a storage error) leaves the position as it is;
// the client still gets its statuses and the play goes on.
func (p *Player) seek(r seekRequest, now time.Time) {
	s := &p.s
	pos, ts, err := p.f.seek(r.ms)
	if err != nil {
		p.req.Log.Warn().Err(err).Uint32("ms", r.ms).Msg("seek failed")
		s.dropOut()
		s.out = append(s.out, outItem{status: r.notify}, outItem{status: r.start})
		return
	}
	s.drop(p.f)
	s.pos, s.startTS, s.lastTS, s.offset = pos, ts, ts, 0
	s.ended, s.wantKey, s.burst = false, true, true
	p.ended.Store(false)
	s.clock.restart(ts, now)
	for _, ev := range []uint16{rtmpmsg.EventStreamEOF, rtmpmsg.EventStreamIsRecorded, rtmpmsg.EventStreamBegin} {
		s.out = append(s.out, outItem{event: ev, isEvent: true})
	}
	s.out = append(s.out, outItem{status: r.notify}, outItem{status: r.start})
	s.queueStart(p.f)
}

// step sends what is due at now and returns how long to wait before the next step (negative:
// until a command).
func (p *Player) step(now time.Time) time.Duration {
	s := &p.s
	if !p.flushOut(now) {
		return p.cfg.Retry
	}
	if s.ended || s.clock.paused {
		return -1
	}
	defer p.flushBurst()
	for {
		pkt, ok := p.next()
		if !ok {
			p.finish(now)
			return p.afterFinish(now)
		}
		if due := s.clock.due(pkt.Timestamp, p.cfg.Lead); due.After(now) {
			return max(p.cfg.Tick, due.Sub(now))
		}
		if !p.offer(pkt, now) {
			return p.cfg.Retry
		}
	}
}

// flushBurst writes the first media after a start or a seek at once; later media leaves on the
// connection's media tick, coalesced.
func (p *Player) flushBurst() {
	if p.s.burst {
		p.s.burst = false
		p.sink.Flush()
	}
}

// afterFinish sends the end's messages; it retries them when the client is full.
func (p *Player) afterFinish(now time.Time) time.Duration {
	if !p.flushOut(now) {
		return p.cfg.Retry
	}
	return -1
}

// next returns the next message of the play (not consumed: offer advances), reading the next
// block when the current one is done; false at the end of the file, or of Len.
func (p *Player) next() (*media.Packet, bool) {
	s := &p.s
	for s.cur == nil || s.idx >= len(s.cur.pkts) {
		if s.cur != nil && (s.cur.end || s.cur.err != nil) {
			p.reportDamage(s.cur.err)
			return nil, false
		}
		if !p.load() {
			return nil, false
		}
	}
	pkt := s.cur.pkts[s.idx]
	if s.stopAt >= 0 && int64(pkt.Timestamp) > s.stopAt {
		return nil, false
	}
	return pkt, true
}

// load moves to the block after the current one.
func (p *Player) load() bool {
	s := &p.s
	pos := s.pos
	if s.cur != nil {
		pos = s.cur.next
	}
	s.drop(p.f)
	b, err := p.f.block(p.ctx, pos)
	if err != nil {
		return false // stopped while waiting for another player's read
	}
	s.cur, s.idx, s.pos = b, 0, pos
	return true
}

func (p *Player) reportDamage(err error) {
	if err != nil && !p.s.damaged {
		p.s.damaged = true
		p.req.Log.Warn().Err(err).Str("path", p.f.path).Msg("recording damaged: playing up to the damage")
	}
}

// offer hands the current message to the sink unless receiveAudio/Video or a wait for a
// keyframe leave it out; false when the sink is full (the message stays current).
func (p *Player) offer(pkt *media.Packet, now time.Time) bool {
	s := &p.s
	if s.skip(pkt) {
		s.idx++
		return true
	}
	if !p.sink.Deliver(pkt.Retain(), s.sent(pkt.Timestamp)) {
		pkt.Release()
		s.clock.block(now)
		return false
	}
	s.clock.unblock(now)
	s.idx++
	s.lastTS = pkt.Timestamp
	p.bytes.Add(uint64(len(pkt.Payload)))
	if s.oneFrame && isFrame(pkt) {
		s.stopAt = int64(pkt.Timestamp) - 1 // len 0: this frame was the play
	}
	return true
}

// finish queues the end of the play: onPlayStatus NetStream.Play.Complete, StreamEOF and the
// request's Stop status, in that order (FMS's and Red5's).
func (p *Player) finish(now time.Time) {
	s := &p.s
	s.ended = true
	s.drop(p.f)
	s.clock.restart(s.lastTS, now)
	info := &amf.Object{Props: []amf.Prop{{Key: "level", Value: "status"}, {Key: "code", Value: "NetStream.Play.Complete"},
		{Key: "duration", Value: p.f.dur.Seconds()}, {Key: "bytes", Value: float64(p.bytes.Load())}}}
	var e amf.Encoder
	if b, err := rtmpmsg.AppendData(nil, &e, "onPlayStatus", info); err == nil {
		at := s.sent(s.lastTS)
		s.out = append(s.out, outItem{pkt: media.NewPacket(rtmpmsg.TypeDataAMF0, at, b), at: at})
	}
	s.out = append(s.out, outItem{event: rtmpmsg.EventStreamEOF, isEvent: true}, outItem{status: p.req.Stop})
	p.ended.Store(true)
}

// flushOut sends the queued control messages in order; false when the sink is full.
func (p *Player) flushOut(now time.Time) bool {
	s := &p.s
	sent := false
	for len(s.out) > 0 {
		if !p.send(s.out[0]) {
			if sent {
				p.sink.Flush()
			}
			s.clock.block(now)
			return false
		}
		s.out[0] = outItem{}
		s.out = s.out[1:]
		sent = true
	}
	if sent {
		s.clock.unblock(now)
		p.sink.Flush()
	}
	s.out = nil
	return true
}

// send hands one queued item to the sink.
func (p *Player) send(it outItem) bool {
	switch {
	case it.isEvent:
		return p.sink.Event(it.event)
	case it.status != nil:
		return p.sink.Status(it.status)
	case it.pkt != nil:
		n := len(it.pkt.Payload) // the sink may release the packet as soon as it has it
		if !p.sink.Deliver(it.pkt, it.at) {
			return false
		}
		p.bytes.Add(uint64(n))
	}
	return true
}

// isFrame reports whether pkt is an audio or video frame (not a sequence header or data).
func isFrame(pkt *media.Packet) bool {
	return (pkt.TypeID == 8 || pkt.TypeID == 9) && !pkt.SeqHeader
}
