package rtmpconn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Handler receives a connection's application-level events, on the connection's read goroutine,
// one at a time. Payload slices are valid only during the call. Returning an error closes the
// connection with that error as the reason.
type Handler interface {
	HandleCommand(c *Conn, streamID uint32, cmd *rtmpmsg.Command) error
	HandleData(c *Conn, streamID uint32, ts uint32, d *rtmpmsg.Data) error
	HandleMedia(c *Conn, streamID uint32, typeID uint8, ts uint32, payload []byte) error
	HandleSharedObject(c *Conn, msg *rtmpmsg.SharedObjectMessage, amf3 bool) error
	// Closed is called once, after the read loop ended, with the reason.
	Closed(c *Conn, reason error)
}

// RawCommandHandler is an optional extension of a Handler that relays commands elsewhere (the
// edge forwards every command of a connected client to its origin, which decodes them itself):
// HandleRawCommand sees each command message before it is decoded, and when it reports true
// the message is neither decoded nor passed to HandleCommand. payload is valid only during the
// call.
type RawCommandHandler interface {
	HandleRawCommand(c *Conn, streamID uint32, typeID uint8, payload []byte) (bool, error)
}

// readState is owned by the read goroutine.
type readState struct {
	br         *bufio.Reader // nil while an idle wait has handed it back
	pool       *sync.Pool    // where br comes from and goes back to
	unwatch    func() bool   // stops closing the socket when the context ends
	cr         *chunk.Reader
	idle       *idleWait // nil: not plain TCP, never waits without a buffer
	windowAck  uint32
	lastAckAt  uint64
	deadlineAt time.Time
	msgs       uint32 // messages in the current deadline window...
	prevMsgs   uint32 // ...and in the previous one: how busy the connection is (see quiet)
	pinged     bool   // a ping went out for the current silence (see pingSilent)
	admitted   bool   // the reader has the full limits (see Conn.admit)
	busy       uint32 // messages per two windows from which the connection is busy (see quiet)
}

// readLoop reads and dispatches messages until the connection ends. Its frame stays small and
// the work per message lives in readOne: this frame is on the stack while a connection idles
// (see Serve). It is the connection's panic boundary (recoverPanic): a panic in the handler
// ends this connection with ErrHandlerPanic.
func (c *Conn) readLoop(rs *readState) (err error) {
	defer c.recoverPanic(&err)
	for {
		if !rs.admitted && c.admitted.Load() {
			c.raiseLimits(rs)
		}
		if err := c.refreshReadDeadline(rs); err != nil {
			return err
		}
		if rs.quiet() {
			c.ackBeforeWait()
			w := rs.idle
			w.released, w.eof = false, false
			err := w.raw.Read(w.check) // called here, not in a helper: one frame less when parked
			w.reacquire()
			if err == nil && w.eof {
				return io.EOF // the peer closed between messages, as a read would have said
			}
			if err != nil {
				if c.pingSilent(rs, err) {
					continue
				}
				return c.readFailed(rs, readError(err))
			}
		}
		at := rs.cr.BytesRead()
		if err := c.readOne(rs); err != nil {
			if rs.cr.BytesRead() == at && c.pingSilent(rs, err) {
				continue // timed out between messages: nothing of the next one was consumed
			}
			return c.readFailed(rs, err)
		}
	}
}

// pingSilent handles a read that timed out between messages. A peer silent for half the idle
// timeout is pinged: a live client answers (a quiet chat client, a player of a low-bitrate
// stream that acknowledges rarely), and the answer is traffic like any other. If it is still
// silent half an idle timeout later it has vanished, and the connection ends (false).
func (c *Conn) pingSilent(rs *readState, err error) bool {
	if !isTimeout(err) || rs.pinged || !rs.admitted || c.draining.Load() || c.ctx.Err() != nil {
		return false
	}
	rs.pinged = true
	c.cork() // written by uncork on this goroutine: an idle connection starts no writer for it
	err = c.Ping()
	c.uncork()
	if err != nil {
		return false
	}
	now := time.Now()
	rs.deadlineAt = now
	return c.nc.SetReadDeadline(now.Add(c.cfg.IdleTimeout/2)) == nil
}

// readFailed is the reason a read ended the loop: a timeout before the connection was accepted
// is the connect deadline.
func (c *Conn) readFailed(rs *readState, err error) error {
	if !rs.admitted && isTimeout(err) {
		return fmt.Errorf("%w (%v)", ErrNoConnect, c.cfg.ConnectTimeout)
	}
	return err
}

// endRead gives the read buffers back to the pools.
func (c *Conn) endRead(rs *readState) {
	if rs.cr != nil {
		rs.cr.Release() // reassembly buffers back to the shared pools
	}
	putReadBuffer(rs.pool, rs.br)
}

// readOne reads and handles one message.
func (c *Conn) readOne(rs *readState) error {
	h, payload, err := rs.cr.ReadMessage()
	if err != nil {
		return readError(err)
	}
	rs.msgs++
	rs.pinged = false
	c.Stats.MsgIn.Add(1)
	if c.draining.Load() {
		return nil // the connection is ending: read and drop until the peer closes
	}
	if err := c.dispatch(rs, h, payload); err != nil {
		return err
	}
	return c.maybeAck(rs)
}

// refreshReadDeadline moves the read deadline (half the idle timeout: see pingSilent) forward at
// most once a second: a syscall-free runtime call, but not one worth making per message.
func (c *Conn) refreshReadDeadline(rs *readState) error {
	if c.draining.Load() || !rs.admitted {
		return nil // closeGracefully set the final deadline, or start the connect deadline
	}
	now := time.Now()
	if now.Sub(rs.deadlineAt) < time.Second {
		return nil
	}
	rs.deadlineAt = now
	rs.prevMsgs, rs.msgs = rs.msgs, 0
	return c.nc.SetReadDeadline(now.Add(c.cfg.IdleTimeout / 2))
}

func readError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case isTimeout(err):
		return fmt.Errorf("idle timeout: %w", err)
	}
	return fmt.Errorf("read: %w", err)
}

// isTimeout reports whether err is a read timeout. The end of every connection passes here
// with io.EOF, which is answered before errors.As, whose target escapes (an allocation).
func isTimeout(err error) bool {
	if err == nil || errors.Is(err, io.EOF) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Conn) maybeAck(rs *readState) error {
	n := rs.cr.BytesRead()
	c.Stats.BytesIn.Store(n)
	if rs.windowAck == 0 || n-rs.lastAckAt < uint64(rs.windowAck) {
		return nil
	}
	rs.lastAckAt = n
	return c.SendProtocol(rtmpmsg.TypeAck, rtmpmsg.AppendAck(nil, uint32(n)))
}

func (c *Conn) dispatch(rs *readState, h chunk.Header, p []byte) error {
	switch h.TypeID {
	case rtmpmsg.TypeSetChunkSize, rtmpmsg.TypeAbort, rtmpmsg.TypeAck, rtmpmsg.TypeWindowAckSize,
		rtmpmsg.TypeSetPeerBandwidth, rtmpmsg.TypeUserControl:
		return c.handleControl(rs, h, p)
	case rtmpmsg.TypeAudio, rtmpmsg.TypeVideo:
		return c.handler.HandleMedia(c, h.StreamID, h.TypeID, h.Timestamp, p)
	case rtmpmsg.TypeDataAMF0, rtmpmsg.TypeDataAMF3:
		return c.handleData(rs, h.StreamID, h.TypeID, h.Timestamp, p)
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		if c.raw != nil {
			if took, err := c.raw.HandleRawCommand(c, h.StreamID, h.TypeID, p); took || err != nil {
				return err
			}
		}
		d := decoders.Get().(*amf.Decoder)
		cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, d)
		putDecoder(d)
		if err != nil {
			return fmt.Errorf("bad command message (type %d, %d bytes): %w", h.TypeID, len(p), err)
		}
		return c.handler.HandleCommand(c, h.StreamID, &cmd)
	case rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		msg, err := rtmpmsg.DecodeSharedObject(h.TypeID, p)
		if err != nil {
			return fmt.Errorf("bad shared object message: %w", err)
		}
		return c.handler.HandleSharedObject(c, &msg, h.TypeID == rtmpmsg.TypeSharedObjectAMF3)
	case rtmpmsg.TypeAggregate:
		return c.handleAggregate(rs, h, p)
	}
	if c.Stats.UnknownTypes.Add(1) == 1 {
		c.log.Info().Uint8("type", h.TypeID).Msg("ignoring message of unknown type (logged once per connection)")
	}
	return nil
}

func (c *Conn) handleData(rs *readState, streamID uint32, typeID uint8, ts uint32, p []byte) error {
	dec := decoders.Get().(*amf.Decoder)
	d, err := rtmpmsg.DecodeData(typeID, p, dec)
	putDecoder(dec)
	if err != nil {
		return fmt.Errorf("bad data message (type %d, %d bytes): %w", typeID, len(p), err)
	}
	return c.handler.HandleData(c, streamID, ts, &d)
}

// decoders are shared by every connection's read goroutine: a decoder is needed only while a
// command or data message is decoded, and one kept per connection would also keep the last
// decoded message alive through its reference tables.
var decoders = sync.Pool{New: func() any { return new(amf.Decoder) }}

// putDecoder drops the decoder's references to the message it decoded and pools it.
func putDecoder(d *amf.Decoder) {
	d.Reset(nil)
	decoders.Put(d)
}

func (c *Conn) handleAggregate(rs *readState, h chunk.Header, p []byte) error {
	return rtmpmsg.SplitAggregate(h.Timestamp, p, func(typeID uint8, ts uint32, body []byte) error {
		switch typeID {
		case rtmpmsg.TypeAudio, rtmpmsg.TypeVideo:
			return c.handler.HandleMedia(c, h.StreamID, typeID, ts, body)
		case rtmpmsg.TypeDataAMF0, rtmpmsg.TypeDataAMF3:
			return c.handleData(rs, h.StreamID, typeID, ts, body)
		}
		return nil
	})
}

func (c *Conn) handleControl(rs *readState, h chunk.Header, p []byte) error {
	switch h.TypeID {
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(p)
		if err == nil {
			err = rs.cr.SetChunkSize(n)
		}
		if err != nil {
			return fmt.Errorf("set chunk size: %w", err)
		}
	case rtmpmsg.TypeAbort:
		csid, err := rtmpmsg.ParseAbort(p)
		if err != nil {
			return fmt.Errorf("abort: %w", err)
		}
		rs.cr.Abort(csid)
	case rtmpmsg.TypeWindowAckSize:
		n, err := rtmpmsg.ParseWindowAckSize(p)
		if err != nil {
			return fmt.Errorf("window ack size: %w", err)
		}
		rs.windowAck = n
	case rtmpmsg.TypeUserControl:
		return c.handleUserControl(p)
	}
	return nil
}

func (c *Conn) handleUserControl(p []byte) error {
	uc, err := rtmpmsg.ParseUserControl(p)
	if err != nil {
		return fmt.Errorf("user control: %w", err)
	}
	switch uc.Event {
	case rtmpmsg.EventPingRequest:
		return c.SendProtocol(rtmpmsg.TypeUserControl, rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data))
	case rtmpmsg.EventPingResponse:
		c.pingAnswered(uc.Data)
	case rtmpmsg.EventSetBufferLength:
		c.adaptMediaFlush(time.Duration(uc.Data2) * time.Millisecond)
	}
	return nil
}
