package origin

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/origin/session"
)

// StartPlay implements session.Transport: what players need before the first frame, then the
// subscription. Corked: Play.Start leaves once the subscription is in the hub, so that a client
// that has it gets everything published after it (data messages are not cached for late joiners).
func (d *direct) StartPlay(streamID uint32, name string, reset bool, hub *live.Hub) (play session.Play, err error) {
	d.conn.Corked(func() {
		if err = d.sendPlayStart(streamID, name, reset); err != nil {
			return
		}
		pl := &netstream.Player{Conn: d.conn, StreamID: streamID, Name: name, Budget: d.srv.cfg.Limits.PlayerQueueBytes}
		var sub *live.Subscription
		if sub, err = hub.Subscribe(name, pl); err == nil {
			play = &directPlay{conn: d.conn, streamID: streamID, sub: sub}
		}
	})
	if err == nil {
		d.conn.SetNoDelay(false) // a player: let the kernel coalesce media segments (see SetNoDelay)
	}
	return play, err
}

// sendPlayStart sends netstream.PlayStart's messages.
func (d *direct) sendPlayStart(streamID uint32, name string, reset bool) error {
	for _, m := range netstream.PlayStart(name, reset, d.conn.ObjectEncoding() == 3) {
		var err error
		switch m.Kind {
		case netstream.StreamBegin:
			err = d.conn.SendUserControl(rtmpmsg.EventStreamBegin, streamID)
		case netstream.Status:
			err = d.conn.SendStatus(streamID, netstream.StatusInfo(m.Level, m.Code, m.Description, name, d.conn.ID()))
		case netstream.Data:
			err = d.conn.SendMessage(streamID, m.Type, 0, m.Payload)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// directPlay is a running play of a direct client: its own hub subscription.
type directPlay struct {
	conn     *rtmpconn.Conn
	streamID uint32
	sub      *live.Subscription
}

func (p *directPlay) Pause(on bool)        { p.sub.Pause(on) }
func (p *directPlay) BytesOut() uint64     { return p.sub.BytesDelivered() }
func (p *directPlay) ReceiveAudio(on bool) { p.sub.SetReceiveAudio(on) }
func (p *directPlay) ReceiveVideo(on bool) { p.sub.SetReceiveVideo(on) }

func (p *directPlay) Stop(status *amf.Object) {
	p.sub.Close()
	if status == nil {
		return
	}
	_ = p.conn.SendUserControl(rtmpmsg.EventStreamEOF, p.streamID)
	_ = p.conn.SendStatus(p.streamID, status)
}
