package rtmpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

var errNestedAggregate = errors.New("rtmp: aggregate message inside an aggregate")

// readLimits bound what a server can make the client buffer.
var readLimits = chunk.Limits{MaxMessageSize: 16 << 20, MaxChunkStreams: 1024, MaxBufferedBytes: 64 << 20}

// handshake runs the plain client handshake under opt.Timeout; cancelling ctx aborts it. If it
// fails there is no read goroutine, so it marks the client done itself.
func (c *Client) handshake(ctx context.Context, br *bufio.Reader) error {
	_ = c.nc.SetDeadline(time.Now().Add(c.opt.Timeout))
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	err := rtmpconn.ClientHandshake(struct {
		*bufio.Reader
		writerOnly
	}{br, writerOnly{c}})
	if !stop() || err != nil {
		if err == nil {
			err = ctx.Err()
		}
		c.err = fmt.Errorf("handshake: %w", err)
		close(c.done)
		return c.err
	}
	return c.nc.SetDeadline(time.Time{})
}

// writerOnly writes raw bytes through the client's write lock.
type writerOnly struct{ c *Client }

func (w writerOnly) Write(p []byte) (int, error) { return len(p), w.c.WriteRaw(p) }

// readState is owned by the read goroutine.
type readState struct {
	r         *chunk.Reader
	dec       amf.Decoder
	windowAck uint64 // the server's window (0 = never announced)
	lastAck   uint64
}

func (c *Client) readLoop(br *bufio.Reader) {
	st := &readState{r: chunk.NewReader(br, readLimits)}
	err := c.readMessages(st)
	select {
	case <-c.quit:
		err = ErrClosed
	default:
	}
	c.err = err
	_ = c.nc.Close()
	c.failPending()
	close(c.done) // before events: whoever sees events closed can read Err at once
	close(c.events)
}

func (c *Client) readMessages(st *readState) error {
	for {
		h, p, err := st.r.ReadMessage()
		if err != nil {
			return err
		}
		if err := c.dispatch(st, h, p); err != nil {
			return err
		}
		if n := st.r.BytesRead(); st.windowAck > 0 && n-st.lastAck >= st.windowAck {
			st.lastAck = n
			if err := c.writeMsg(2, 0, rtmpmsg.TypeAck, 0, rtmpmsg.AppendAck(nil, uint32(n))); err != nil {
				return err
			}
		}
	}
}

// dispatch handles one message: protocol control here, the rest as answers or events.
func (c *Client) dispatch(st *readState, h chunk.Header, p []byte) error {
	switch h.TypeID {
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(p)
		if err != nil {
			return err
		}
		return st.r.SetChunkSize(n)
	case rtmpmsg.TypeAbort:
		csid, err := rtmpmsg.ParseAbort(p)
		if err == nil {
			st.r.Abort(csid)
		}
		return err
	case rtmpmsg.TypeWindowAckSize:
		n, err := rtmpmsg.ParseWindowAckSize(p)
		st.windowAck = uint64(n)
		return err
	case rtmpmsg.TypeUserControl:
		return c.userControl(p)
	case rtmpmsg.TypeAudio, rtmpmsg.TypeVideo:
		return c.emit(Event{Kind: EventMedia, StreamID: h.StreamID, TypeID: h.TypeID, Timestamp: h.Timestamp,
			Payload: append([]byte(nil), p...)})
	case rtmpmsg.TypeAggregate:
		return rtmpmsg.SplitAggregate(h.Timestamp, p, func(typeID uint8, ts uint32, body []byte) error {
			if typeID == rtmpmsg.TypeAggregate {
				return errNestedAggregate // would let a server recurse without bound
			}
			return c.dispatch(st, chunk.Header{CSID: h.CSID, Timestamp: ts, Length: uint32(len(body)),
				TypeID: typeID, StreamID: h.StreamID}, body)
		})
	case rtmpmsg.TypeDataAMF0, rtmpmsg.TypeDataAMF3:
		d, err := rtmpmsg.DecodeData(h.TypeID, p, &st.dec)
		if err != nil {
			return fmt.Errorf("data message: %w", err)
		}
		return c.emit(Event{Kind: EventData, StreamID: h.StreamID, TypeID: h.TypeID, Timestamp: h.Timestamp,
			Name: d.Name, Args: d.Args, Payload: append([]byte(nil), p...)})
	case rtmpmsg.TypeSharedObjectAMF0, rtmpmsg.TypeSharedObjectAMF3:
		return c.emit(Event{Kind: EventSharedObject, StreamID: h.StreamID, TypeID: h.TypeID,
			Payload: append([]byte(nil), p...)})
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, &st.dec)
		if err != nil {
			return fmt.Errorf("command: %w", err)
		}
		return c.command(h.StreamID, &cmd)
	}
	return nil // acks, peer bandwidth and unknown types need nothing from a client
}

func (c *Client) userControl(p []byte) error {
	uc, err := rtmpmsg.ParseUserControl(p)
	if err != nil {
		return err
	}
	if uc.Event == rtmpmsg.EventPingRequest {
		return c.writeMsg(2, 0, rtmpmsg.TypeUserControl, 0,
			rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data))
	}
	return c.emit(Event{Kind: EventUserControl, UserControl: uc})
}

// emit hands an event to the caller, blocking while Events() is full, until Close.
func (c *Client) emit(ev Event) error {
	select {
	case c.events <- ev:
		return nil
	case <-c.quit:
		return ErrClosed
	}
}

// command routes answers to waiting calls, onStatus to events, and calls to handlers.
func (c *Client) command(streamID uint32, cmd *rtmpmsg.Command) error {
	switch cmd.Name {
	case "_result", "_error":
		c.settle(cmd)
		return nil
	case "onStatus":
		info, _ := lastArg(cmd).(*amf.Object)
		return c.emit(Event{Kind: EventStatus, StreamID: streamID, Name: cmd.Name, Info: info})
	}
	c.mu.Lock()
	h := c.handlers[cmd.Name]
	c.mu.Unlock()
	if h == nil {
		return c.emit(Event{Kind: EventCommand, StreamID: streamID, Name: cmd.Name, Args: cmd.Args})
	}
	go c.answerCall(streamID, cmd.TxnID, h, cmd.Args) // a handler may itself call the server
	return nil
}

// settle delivers an answer to the call waiting for its transaction id; answers nobody waits
// for (late, duplicated, unknown ids) are dropped.
func (c *Client) settle(cmd *rtmpmsg.Command) {
	c.mu.Lock()
	ch := c.pending[cmd.TxnID]
	delete(c.pending, cmd.TxnID)
	c.mu.Unlock()
	if ch == nil {
		return
	}
	v := cmd.Object
	if len(cmd.Args) > 0 {
		v = cmd.Args[0] // connect's info, createStream's id, a call's return value
	}
	if cmd.Name == "_error" {
		info, _ := v.(*amf.Object)
		ch <- answer{err: &StatusError{Info: info}}
		return
	}
	ch <- answer{value: v} // buffered: never blocks
}

// failPending ends every waiting call once the connection is gone.
func (c *Client) failPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for txn, ch := range c.pending {
		delete(c.pending, txn)
		ch <- answer{err: fmt.Errorf("%w (%v)", ErrClosed, c.err)}
	}
}

// lastArg is onStatus's info object: its last argument, or the command object when there is none.
func lastArg(cmd *rtmpmsg.Command) any {
	if len(cmd.Args) > 0 {
		return cmd.Args[len(cmd.Args)-1]
	}
	return cmd.Object
}
