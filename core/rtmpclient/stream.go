package rtmpclient

import (
	"context"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// CreateStream asks for a new message stream id.
func (c *Client) CreateStream(ctx context.Context) (uint32, error) {
	v, err := c.Call(ctx, "createStream")
	if err != nil {
		return 0, err
	}
	f, ok := v.(float64)
	if !ok || f < 0 || f > 0xFFFFFFFF {
		return 0, fmt.Errorf("rtmp: createStream answered %T %v", v, v)
	}
	return uint32(f), nil
}

// DeleteStream releases a stream id (no answer is expected).
func (c *Client) DeleteStream(id uint32) error {
	return c.SendCommand(0, "deleteStream", 0, nil, float64(id))
}

// Publish starts publishing name on streamID (mode "live", "record" or "append") and waits for
// NetStream.Publish.Start, whose info it returns; an error-level status (BadName, Rejected, ...)
// is returned as a *StatusError. It reads Events() meanwhile: other events that arrive before
// the verdict are dropped, so call it before playing on the same client.
func (c *Client) Publish(ctx context.Context, streamID uint32, name, mode string) (*amf.Object, error) {
	if err := c.SendCommand(streamID, "publish", 0, nil, name, mode); err != nil {
		return nil, err
	}
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return nil, fmt.Errorf("rtmp: publish %q: %w", name, err)
		}
		if ev.Kind != EventStatus || ev.StreamID != streamID || ev.Info == nil {
			continue
		}
		if ev.Info.String("code") == "NetStream.Publish.Start" {
			return ev.Info, nil
		}
		if ev.Info.String("level") == "error" {
			return ev.Info, &StatusError{Info: ev.Info}
		}
	}
}

// NextEvent waits for the next event; after the connection ended it returns an error wrapping
// ErrClosed.
func (c *Client) NextEvent(ctx context.Context) (Event, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return Event{}, fmt.Errorf("%w (%v)", ErrClosed, c.err)
		}
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Play asks to play name on streamID (start as on the wire: -2 or -2000 live or recorded, -1 or
// -1000 live only, >= 0 recorded from that millisecond), after announcing a 3 s buffer like
// Flash Player. It does not wait: statuses and media arrive as events.
func (c *Client) Play(streamID uint32, name string, start float64) error {
	buf := rtmpmsg.AppendUserControl(nil, rtmpmsg.EventSetBufferLength, streamID, 3000)
	if err := c.writeMsg(csidControl, 0, rtmpmsg.TypeUserControl, 0, buf); err != nil {
		return err
	}
	return c.SendCommand(streamID, "play", 0, nil, name, start)
}

// WriteMedia sends an audio (8) or video (9) message on a stream; payload is an FLV tag body.
func (c *Client) WriteMedia(streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	csid := uint32(csidAudio)
	if typeID == rtmpmsg.TypeVideo {
		csid = csidVideo
	}
	return c.writeMsg(csid, streamID, typeID, ts, payload)
}

// WriteData sends an AMF0 data message on a stream, e.g. WriteData(sid, "@setDataFrame",
// "onMetaData", meta).
func (c *Client) WriteData(streamID uint32, name string, args ...any) error {
	var e amf.Encoder
	p, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		return fmt.Errorf("rtmp: encode %s: %w", name, err)
	}
	return c.writeMsg(csidData, streamID, rtmpmsg.TypeDataAMF0, 0, p)
}
