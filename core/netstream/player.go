package netstream

import (
	"errors"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// Player delivers a hub's live stream, or a recording (it is a core/vod Sink), to one NetStream
// of an RTMP connection: the origin's direct clients and the edge's clients (from its local hub)
// play through it alike. Its methods are called by the hub or the recording's player and only
// use the connection's thread-safe queue.
type Player struct {
	Conn     *rtmpconn.Conn
	StreamID uint32
	Name     string
	Budget   int // media bytes the player may have waiting before it skips to the next keyframe
}

var (
	_ live.Subscriber = (*Player)(nil)
	_ live.Flusher    = (*Player)(nil)
)

// Deliver implements live.Subscriber.
func (p *Player) Deliver(pkt *media.Packet, ts uint32) bool {
	return p.Conn.SendMedia(p.StreamID, pkt, ts, p.Budget)
}

// Flush implements live.Flusher: the player's start goes out at once.
func (p *Player) Flush() { p.Conn.Flush() }

// Status sends an onStatus on the player's stream (a recorded play's seek and end, core/vod's
// Sink); false once the connection is closed.
func (p *Player) Status(info *amf.Object) bool { return p.Conn.SendStatus(p.StreamID, info) == nil }

// Event sends a user control event about the player's stream (StreamBegin, StreamEOF,
// StreamIsRecorded); false once the connection is closed.
func (p *Player) Event(ev uint16) bool { return p.Conn.SendUserControl(ev, p.StreamID) == nil }

// Notify implements live.Subscriber: publish/unpublish notifications as FMS sends them.
func (p *Player) Notify(ev live.Event) {
	if st := NotifyStatus(ev, p.Name, p.Conn.ID()); st != nil {
		_ = p.Conn.SendStatus(p.StreamID, st)
	}
}

// CutOff implements live.Subscriber: a player that stayed behind is disconnected. A closed hub
// (its instance unloaded, the edge's trunk gone) is not the player's fault: its session is being
// closed with a status, which an immediate close would lose.
func (p *Player) CutOff(reason error) {
	if errors.Is(reason, live.ErrClosed) {
		return
	}
	p.Conn.Log().Warn().Str("stream", p.Name).Err(reason).Msg("player cut off: too slow")
	p.Conn.Close(reason)
}
