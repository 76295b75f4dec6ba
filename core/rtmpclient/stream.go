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
	if !ok {
		return 0, fmt.Errorf("createStream answered %T", v)
	}
	return uint32(f), nil
}

// DeleteStream releases a stream id.
func (c *Client) DeleteStream(id uint32) error {
	return c.SendCommand(0, "deleteStream", 0, nil, float64(id))
}

// Publish starts publishing name on streamID and waits for NetStream.Publish.Start; another
// status (BadName, ...) is returned as a *StatusError. Events that arrive meanwhile other than
// that stream's statuses are kept for Events().
func (c *Client) Publish(ctx context.Context, streamID uint32, name, mode string) (*amf.Object, error) {
	if err := c.SendCommand(streamID, "publish", 0, nil, name, mode); err != nil {
		return nil, err
	}
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return nil, err
		}
		if ev.Kind != EventStatus || ev.StreamID != streamID || ev.Info == nil {
			continue
		}
		if code := ev.Info.String("code"); code == "NetStream.Publish.Start" {
			return ev.Info, nil
		} else if ev.Info.String("level") == "error" {
			return ev.Info, &StatusError{Info: ev.Info}
		}
	}
}

// NextEvent waits for the next event.
func (c *Client) NextEvent(ctx context.Context) (Event, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return Event{}, fmt.Errorf("%w (%v)", errClosed, c.err)
		}
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Play asks to play name (start -2 live-or-recorded, -1 live only, >= 0 recorded); it does not
// wait: statuses and media arrive as events.
func (c *Client) Play(streamID uint32, name string, start float64) error {
	if err := c.writeMsg(2, 0, rtmpmsg.TypeUserControl, 0, rtmpmsg.AppendUserControl(nil, rtmpmsg.EventSetBufferLength, streamID, 3000)); err != nil {
		return err
	}
	return c.SendCommand(streamID, "play", 0, nil, name, start)
}

// WriteMedia sends an audio (8) or video (9) message on a stream.
func (c *Client) WriteMedia(streamID uint32, typeID uint8, ts uint32, payload []byte) error {
	csid := uint32(6)
	if typeID == rtmpmsg.TypeVideo {
		csid = 7
	}
	return c.writeMsg(csid, streamID, typeID, ts, payload)
}

// WriteData sends an AMF0 data message (e.g. "@setDataFrame", "onMetaData", {...}).
func (c *Client) WriteData(streamID uint32, name string, args ...any) error {
	var e amf.Encoder
	p, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		return err
	}
	return c.writeMsg(5, streamID, rtmpmsg.TypeDataAMF0, 0, p)
}
