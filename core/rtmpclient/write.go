package rtmpclient

import (
	"context"
	"fmt"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Chunk stream ids we write on, like Flash Player: control, commands, stream commands, data,
// audio, video.
const (
	csidControl       = 2
	csidCommand       = 3
	csidData          = 5
	csidAudio         = 6
	csidVideo         = 7
	csidStreamCommand = 8
)

// writeMsg writes one message now, under the write deadline (a client is not a server: no
// queue).
func (c *Client) writeMsg(csid, streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	h := chunk.Header{CSID: csid, Timestamp: ts, Length: uint32(len(payload)), TypeID: typeID, StreamID: streamID}
	c.bufs = c.w.Append(c.bufs[:0], h, payload)
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opt.Timeout))
	out := c.bufs // WriteTo consumes its receiver: keep c.bufs' backing array for reuse
	_, err := out.WriteTo(c.nc)
	clear(c.bufs) // drop references to payloads
	c.w.Reset()
	return c.writeErr(err)
}

// writeErr says ErrClosed when the write failed because the connection is gone.
func (c *Client) writeErr(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-c.quit:
		return fmt.Errorf("rtmp: write: %w", ErrClosed)
	case <-c.done:
		return fmt.Errorf("rtmp: write: %w (%v)", ErrClosed, err)
	default:
		return fmt.Errorf("rtmp: write: %w", err)
	}
}

// WriteRaw writes bytes as they are, bypassing the chunk writer: byte-level and hostile tests
// (hand-made chunk headers, truncated messages, garbage). The chunk writer always starts a
// message with a full (fmt 0) header, so later normal writes stay valid.
func (c *Client) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opt.Timeout))
	_, err := c.nc.Write(b)
	return c.writeErr(err)
}

// WriteMessage writes an arbitrary message with the given header (Length is taken from payload)
// through the chunk writer: any type, chunk stream or stream id.
func (c *Client) WriteMessage(h chunk.Header, payload []byte) error {
	return c.writeMsg(h.CSID, h.StreamID, h.TypeID, h.Timestamp, payload)
}

// SendCommand sends a command in the client's encoding (type 17 when ObjectEncoding is 3, else
// 20) without waiting for an answer.
func (c *Client) SendCommand(streamID uint32, name string, txn float64, obj any, args ...any) error {
	amf3 := c.opt.ObjectEncoding == 3
	c.wmu.Lock()
	p, err := rtmpmsg.AppendCommand(nil, &c.enc, amf3, name, txn, obj, args...)
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("rtmp: encode %s: %w", name, err)
	}
	typeID := uint8(rtmpmsg.TypeCommandAMF0)
	if amf3 {
		typeID = rtmpmsg.TypeCommandAMF3
	}
	csid := uint32(csidCommand)
	if streamID != 0 {
		csid = csidStreamCommand
	}
	return c.writeMsg(csid, streamID, typeID, 0, p)
}

// Call calls a server method (command object null) and waits for the answer: the _result value,
// or a *StatusError for _error.
func (c *Client) Call(ctx context.Context, name string, args ...any) (any, error) {
	return c.callWith(ctx, name, nil, args...)
}

func (c *Client) callWith(ctx context.Context, name string, obj any, args ...any) (any, error) {
	ch := make(chan answer, 1)
	c.mu.Lock()
	txn := c.txn
	c.txn++
	c.pending[txn] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, txn)
		c.mu.Unlock()
	}()
	if err := c.SendCommand(0, name, txn, obj, args...); err != nil {
		return nil, err
	}
	return c.awaitAnswer(ctx, name, ch)
}

// awaitAnswer waits for a call's answer. An answer that arrived just before the connection ended
// (a rejection and the server's close in one write) wins over the end: when both are ready,
// select picks either, so the answer is looked at again. The read goroutine delivers every
// answer before it closes done.
func (c *Client) awaitAnswer(ctx context.Context, name string, ch <-chan answer) (any, error) {
	select {
	case a := <-ch:
		return a.value, a.err
	case <-c.done:
		select {
		case a := <-ch:
			return a.value, a.err
		default:
		}
		return nil, fmt.Errorf("%s: %w (%v)", name, ErrClosed, c.err)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", name, ctx.Err())
	}
}

// Handle registers the answer to server→client calls of name (client.call on the server side).
// Each call runs in its own goroutine, so a handler may call the server itself.
func (c *Client) Handle(name string, h Handler) {
	c.mu.Lock()
	c.handlers[name] = h
	c.mu.Unlock()
}

func (c *Client) answerCall(streamID uint32, txn float64, h Handler, args []any) {
	v, err := h(args)
	if txn == 0 {
		return
	}
	if err != nil {
		info := &amf.Object{Props: []amf.Prop{{Key: "level", Value: "error"},
			{Key: "code", Value: "NetConnection.Call.Failed"}, {Key: "description", Value: err.Error()}}}
		_ = c.SendCommand(streamID, "_error", txn, nil, info)
		return
	}
	_ = c.SendCommand(streamID, "_result", txn, nil, v)
}
