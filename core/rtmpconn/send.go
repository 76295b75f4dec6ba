package rtmpconn

import (
	"fmt"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// FMSVersion is what the connect answer reports as fmsVer: some encoders (Wirecast) read it and
// expect an FMS-style version string.
const FMSVersion = "FMS/3,5,7,7009"

// SendCommand queues a command (or a _result/_error answer) on a stream, encoded as AMF0 (type 20)
// or AMF3 (type 17) following the client's objectEncoding.
func (c *Conn) SendCommand(streamID uint32, name string, txn float64, obj any, args ...any) error {
	return c.sendCommand(commandSizeHint, streamID, name, txn, obj, args...)
}

// commandSizeHint is the room a command's payload starts with: most answers and calls fit, so
// the encoder does not grow it step by step (5-6 allocations for a 200-byte answer).
const commandSizeHint = 128

// sendCommand is SendCommand encoding into a payload of capacity size to start with.
func (c *Conn) sendCommand(size int, streamID uint32, name string, txn float64, obj any, args ...any) error {
	amf3 := c.ObjectEncoding() == 3
	var e amf.Encoder
	p, err := rtmpmsg.AppendCommand(make([]byte, 0, size), &e, amf3, name, txn, obj, args...)
	if err != nil {
		return fmt.Errorf("encode command %q: %w", name, err)
	}
	typeID := uint8(rtmpmsg.TypeCommandAMF0)
	if amf3 {
		typeID = rtmpmsg.TypeCommandAMF3
	}
	return c.SendMessage(streamID, typeID, 0, p)
}

// SendData queues a data message (AMF0, type 18) on a stream, e.g. |RtmpSampleAccess.
func (c *Conn) SendData(streamID uint32, name string, args ...any) error {
	var e amf.Encoder
	p, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		return fmt.Errorf("encode data %q: %w", name, err)
	}
	return c.SendMessage(streamID, rtmpmsg.TypeDataAMF0, 0, p)
}

// StatusInfo builds an FMS status info object: level, code, description, then extra properties.
func StatusInfo(level, code, description string, extra ...amf.Prop) *amf.Object {
	o := &amf.Object{Props: make([]amf.Prop, 0, 3+len(extra))}
	o.Props = append(o.Props,
		amf.Prop{Key: "level", Value: level},
		amf.Prop{Key: "code", Value: code},
		amf.Prop{Key: "description", Value: description})
	o.Props = append(o.Props, extra...)
	return o
}

// SendStatus queues onStatus(info) on a stream.
func (c *Conn) SendStatus(streamID uint32, info *amf.Object) error {
	return c.SendCommand(streamID, "onStatus", 0, nil, info)
}

// SendUserControl queues a user control event (StreamBegin, StreamEOF, StreamIsRecorded, ...).
func (c *Conn) SendUserControl(event uint16, data ...uint32) error {
	return c.SendProtocol(rtmpmsg.TypeUserControl, rtmpmsg.AppendUserControl(nil, event, data...))
}

// SendConnectAccept answers connect the way clients expect (PROTOCOL.md "Commands"): window ack
// size, peer bandwidth, StreamBegin 0 and our chunk size come with the answer, never later
// (HaishinKit is confused by a chunk size change arriving just before a shared-object reply).
// It also lifts the connection from its pre-connect limits to its full ones.
func (c *Conn) SendConnectAccept(txn float64, info *amf.Object) error {
	c.admit()
	c.cork()
	defer c.uncork()
	if err := c.SendProtocol(rtmpmsg.TypeWindowAckSize, rtmpmsg.AppendWindowAckSize(nil, c.cfg.WindowAckSize)); err != nil {
		return err
	}
	if err := c.SendProtocol(rtmpmsg.TypeSetPeerBandwidth, rtmpmsg.AppendSetPeerBandwidth(nil, c.cfg.WindowAckSize, 2)); err != nil {
		return err
	}
	if err := c.SendUserControl(rtmpmsg.EventStreamBegin, 0); err != nil {
		return err
	}
	if err := c.setChunkSize(c.cfg.ChunkSize); err != nil {
		return err
	}
	props := &amf.Object{Props: []amf.Prop{
		{Key: "fmsVer", Value: FMSVersion},
		{Key: "capabilities", Value: float64(31)},
		{Key: "mode", Value: float64(1)},
	}}
	return c.sendCommand(connectAnswerSizeHint, 0, "_result", txn, props, info)
}

// connectAnswerSizeHint is the room connect's _result starts with (about 250 bytes in AMF0).
const connectAnswerSizeHint = 384

// setChunkSize announces a new outbound chunk size; the writer switches after writing it.
func (c *Conn) setChunkSize(n uint32) error {
	p := rtmpmsg.AppendSetChunkSize(nil, n)
	return c.send(outMsg{h: chunkHeaderControl(rtmpmsg.TypeSetChunkSize), payload: p, chunkSize: n})
}

// SendConnectReject answers connect with _error and closes the connection once it is written, so
// the client always sees the verdict (OBS hangs on a connect that is never answered).
func (c *Conn) SendConnectReject(txn float64, info *amf.Object) error {
	c.cork() // written by uncork's caller: no writer goroutine for a rejected connection
	defer c.uncork()
	if err := c.SendCommand(0, "_error", txn, nil, info); err != nil {
		return err
	}
	return c.CloseAfterFlush()
}

// CloseAfterFlush closes the connection once everything queued before it has been written.
func (c *Conn) CloseAfterFlush() error {
	return c.send(outMsg{closeConn: true})
}

// Ping sends a ping request; the answer's round trip is recorded in Stats.LastPingRTT.
func (c *Conn) Ping() error {
	now := uint32(time.Since(time.Unix(0, c.Stats.ConnectedAtUnixNano)).Milliseconds())
	return c.SendUserControl(rtmpmsg.EventPingRequest, now)
}

func (c *Conn) pingAnswered(sentMs uint32) {
	nowMs := uint32(time.Since(time.Unix(0, c.Stats.ConnectedAtUnixNano)).Milliseconds())
	c.Stats.LastPingRTT.Store(int64(time.Duration(nowMs-sentMs) * time.Millisecond))
}
