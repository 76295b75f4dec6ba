package origin

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/vod"
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

// StartFilePlay implements session.Transport: StreamIsRecorded, the play-start messages, then
// the recording's own goroutine, which sends the metadata, headers and media; corked, so that
// they leave in one write.
func (d *direct) StartFilePlay(streamID uint32, name string, reset bool, p *vod.Player) (play session.Play, err error) {
	d.conn.Corked(func() {
		if err = d.conn.SendUserControl(rtmpmsg.EventStreamIsRecorded, streamID); err != nil {
			return
		}
		if err = d.sendPlayStart(streamID, name, reset); err != nil {
			return
		}
		p.Start(&netstream.Player{Conn: d.conn, StreamID: streamID, Name: name, Budget: d.srv.cfg.Limits.PlayerQueueBytes})
		play = &directFilePlay{conn: d.conn, streamID: streamID, p: p}
	})
	if err == nil {
		d.conn.SetNoDelay(false)
	}
	return play, err
}

// directFilePlay is a running recorded play of a direct client.
type directFilePlay struct {
	conn     *rtmpconn.Conn
	streamID uint32
	p        *vod.Player
}

func (f *directFilePlay) Pause(on bool)        { f.p.Pause(on) }
func (f *directFilePlay) BytesOut() uint64     { return f.p.BytesOut() }
func (f *directFilePlay) ReceiveAudio(on bool) { f.p.ReceiveAudio(on) }
func (f *directFilePlay) ReceiveVideo(on bool) { f.p.ReceiveVideo(on) }

// Seek implements session.Seeker.
func (f *directFilePlay) Seek(ms uint32, notify, start *amf.Object) { f.p.Seek(ms, notify, start) }

// Stop ends the play; a play that reached its end has sent its Play.Stop already.
func (f *directFilePlay) Stop(status *amf.Object) {
	f.p.Stop()
	if status == nil || f.p.Ended() {
		return
	}
	_ = f.conn.SendUserControl(rtmpmsg.EventStreamEOF, f.streamID)
	_ = f.conn.SendStatus(f.streamID, status)
}
