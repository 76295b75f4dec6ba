package rtmpclient

import (
	"bufio"
	"context"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// writeMsg writes one message now (the client is not a server: no queue).
func (c *Client) writeMsg(csid, streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.bufs = c.w.Append(c.bufs[:0], chunk.Header{CSID: csid, Timestamp: ts, TypeID: typeID, StreamID: streamID}, payload)
	_, err := c.bufs.WriteTo(c.nc)
	c.w.Reset()
	return err
}

// WriteRaw writes bytes as they are: for byte-level and hostile tests.
func (c *Client) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// WriteMessage writes an arbitrary message with the given header fields.
func (c *Client) WriteMessage(h chunk.Header, payload []byte) error {
	return c.writeMsg(h.CSID, h.StreamID, h.TypeID, h.Timestamp, payload)
}

// SendCommand sends a command in the client's encoding without waiting for an answer.
func (c *Client) SendCommand(streamID uint32, name string, txn float64, obj any, args ...any) error {
	amf3 := c.opt.ObjectEncoding == 3
	c.wmu.Lock()
	p, err := rtmpmsg.AppendCommand(nil, &c.enc, amf3, name, txn, obj, args...)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	typeID := uint8(rtmpmsg.TypeCommandAMF0)
	if amf3 {
		typeID = rtmpmsg.TypeCommandAMF3
	}
	csid := uint32(3)
	if streamID != 0 {
		csid = 8
	}
	return c.writeMsg(csid, streamID, typeID, 0, p)
}

// Call calls a server method and waits for its _result (returned) or _error (*StatusError).
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
	select {
	case a := <-ch:
		return a.value, a.err
	case <-c.done:
		return nil, fmt.Errorf("%s: %w (%v)", name, errClosed, c.err)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", name, ctx.Err())
	}
}

// Handle registers an answer for server→client calls of name.
func (c *Client) Handle(name string, h Handler) {
	c.mu.Lock()
	c.handlers[name] = h
	c.mu.Unlock()
}

func (c *Client) readLoop(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.events)
	r := chunk.NewReader(br, chunk.Limits{MaxMessageSize: 16 << 20, MaxChunkStreams: 1024, MaxBufferedBytes: 64 << 20})
	var dec amf.Decoder
	var windowAck, lastAck uint64
	for {
		h, p, err := r.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		if err := c.dispatch(r, &dec, h, p, &windowAck); err != nil {
			c.err = err
			c.nc.Close()
			return
		}
		if n := r.BytesRead(); windowAck > 0 && n-lastAck >= windowAck {
			lastAck = n
			_ = c.writeMsg(2, 0, rtmpmsg.TypeAck, 0, rtmpmsg.AppendAck(nil, uint32(n)))
		}
	}
}

func (c *Client) dispatch(r *chunk.Reader, dec *amf.Decoder, h chunk.Header, p []byte, windowAck *uint64) error {
	switch h.TypeID {
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(p)
		if err != nil {
			return err
		}
		return r.SetChunkSize(n)
	case rtmpmsg.TypeWindowAckSize:
		n, err := rtmpmsg.ParseWindowAckSize(p)
		*windowAck = uint64(n)
		return err
	case rtmpmsg.TypeUserControl:
		uc, err := rtmpmsg.ParseUserControl(p)
		if err != nil {
			return err
		}
		if uc.Event == rtmpmsg.EventPingRequest {
			return c.writeMsg(2, 0, rtmpmsg.TypeUserControl, 0, rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data))
		}
		c.events <- Event{Kind: EventUserControl, UserControl: uc}
	case rtmpmsg.TypeAudio, rtmpmsg.TypeVideo:
		c.events <- Event{Kind: EventMedia, StreamID: h.StreamID, TypeID: h.TypeID, Timestamp: h.Timestamp, Payload: append([]byte(nil), p...)}
	case rtmpmsg.TypeDataAMF0, rtmpmsg.TypeDataAMF3:
		d, err := rtmpmsg.DecodeData(h.TypeID, p, dec)
		if err != nil {
			return err
		}
		c.events <- Event{Kind: EventData, StreamID: h.StreamID, TypeID: h.TypeID, Timestamp: h.Timestamp, Name: d.Name, Args: d.Args,
			Payload: append([]byte(nil), p...)}
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, dec)
		if err != nil {
			return err
		}
		c.command(h.StreamID, &cmd)
	}
	return nil
}

func (c *Client) command(streamID uint32, cmd *rtmpmsg.Command) {
	switch cmd.Name {
	case "_result", "_error":
		c.mu.Lock()
		ch := c.pending[cmd.TxnID]
		c.mu.Unlock()
		if ch == nil {
			return
		}
		var v any
		if len(cmd.Args) > 0 {
			v = cmd.Args[0]
		} else {
			v = cmd.Object
		}
		if cmd.Name == "_error" {
			info, _ := v.(*amf.Object)
			ch <- answer{err: &StatusError{Info: info}}
			return
		}
		ch <- answer{value: v}
		return
	case "onStatus":
		info, _ := lastArg(cmd).(*amf.Object)
		c.events <- Event{Kind: EventStatus, StreamID: streamID, Name: cmd.Name, Info: info}
		return
	}
	c.mu.Lock()
	h := c.handlers[cmd.Name]
	c.mu.Unlock()
	if h == nil {
		c.events <- Event{Kind: EventCommand, StreamID: streamID, Name: cmd.Name, Args: cmd.Args}
		return
	}
	go c.answerCall(streamID, cmd.TxnID, h, cmd.Args) // a handler may itself call the server
}

func (c *Client) answerCall(streamID uint32, txn float64, h Handler, args []any) {
	v, err := h(args)
	if txn == 0 {
		return
	}
	if err != nil {
		info := &amf.Object{Props: []amf.Prop{{Key: "level", Value: "error"}, {Key: "code", Value: "NetConnection.Call.Failed"}, {Key: "description", Value: err.Error()}}}
		_ = c.SendCommand(streamID, "_error", txn, nil, info)
		return
	}
	_ = c.SendCommand(streamID, "_result", txn, nil, v)
}

func lastArg(cmd *rtmpmsg.Command) any {
	if len(cmd.Args) > 0 {
		return cmd.Args[len(cmd.Args)-1]
	}
	return cmd.Object
}
