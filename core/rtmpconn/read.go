package rtmpconn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
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

// maxBatchWriters bounds how many players wait in a batch before it is flushed anyway.
const maxBatchWriters = 4096

// readState is owned by the read goroutine.
type readState struct {
	cr         *chunk.Reader
	dec        amf.Decoder
	windowAck  uint32
	lastAckAt  uint64
	deadlineAt time.Time
}

func (c *Conn) readLoop(br *bufio.Reader) error {
	rs := &readState{cr: chunk.NewReader(br, c.cfg.Limits)}
	defer rs.cr.Release() // reassembly buffers back to the shared pools
	defer c.batch.Run()
	for {
		if err := c.refreshReadDeadline(rs); err != nil {
			return err
		}
		h, payload, err := rs.cr.ReadMessage()
		if err != nil {
			return readError(err)
		}
		c.Stats.MsgIn.Add(1)
		if c.draining.Load() {
			continue // the connection is ending: read and drop until the peer closes
		}
		if err := c.dispatch(rs, h, payload); err != nil {
			return err
		}
		if err := c.maybeAck(rs); err != nil {
			return err
		}
		// Everything read so far is handled: flush the players fed from it before the next read
		// may block (one writev per player per socket read, not per message).
		if br.Buffered() == 0 || c.batch.Len() >= maxBatchWriters {
			c.batch.Run()
		}
	}
}

// refreshReadDeadline moves the idle deadline forward at most once a second: a syscall-free
// runtime call, but not one worth making per message.
func (c *Conn) refreshReadDeadline(rs *readState) error {
	if c.draining.Load() {
		return nil // closeGracefully set the final deadline
	}
	now := time.Now()
	if now.Sub(rs.deadlineAt) < time.Second {
		return nil
	}
	rs.deadlineAt = now
	return c.nc.SetReadDeadline(now.Add(c.cfg.IdleTimeout))
}

func readError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("idle timeout: %w", err)
	}
	return fmt.Errorf("read: %w", err)
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
		cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, &rs.dec)
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
	d, err := rtmpmsg.DecodeData(typeID, p, &rs.dec)
	if err != nil {
		return fmt.Errorf("bad data message (type %d, %d bytes): %w", typeID, len(p), err)
	}
	return c.handler.HandleData(c, streamID, ts, &d)
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
	}
	return nil
}
