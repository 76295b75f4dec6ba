package edge

import (
	"errors"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// dropReportEvery is how often, at most, a publish whose media the trunk drops tells its
// publisher and writes a log line (with the count since the last one).
const dropReportEvery = 10 * time.Second

// publishOut carries one accepted publish's media to the origin, on the publisher's read
// goroutine, which owns it. Its trunk.MediaSender drops video to the next keyframe when the
// trunk's media queue is full and marks the gap for the origin; publishOut tells the publisher
// and the log, as periodic counts.
type publishOut struct {
	cs       *clientSession
	streamID uint32
	name     string
	sender   *trunk.MediaSender

	lastReport time.Time // zero: nothing reported yet
	reported   uint64    // drops counted in the last report
}

func newPublishOut(cs *clientSession, streamID uint32, lp *localPublish) *publishOut {
	return &publishOut{cs: cs, streamID: streamID, name: lp.name, sender: trunk.NewMediaSender(cs.st.conn, lp.ch)}
}

// send queues p by reference (the trunk's writer releases it once written) and reports drops.
func (o *publishOut) send(p *media.Packet) {
	if err := o.sender.Send(p); err == nil || !errors.Is(err, trunk.ErrQueueFull) {
		return
	}
	now := time.Now()
	if !o.lastReport.IsZero() && now.Sub(o.lastReport) < dropReportEvery {
		return
	}
	drops := o.sender.Drops()
	o.cs.st.log.Warn().Uint32("session", o.cs.id).Str("stream", o.name).Uint64("dropped", drops-o.reported).
		Uint64("dropped_total", drops).Msg("publisher media dropped: the trunk to the origin cannot keep up")
	// FMS's status for a stream that cannot keep up; a warning closes nothing.
	_ = o.cs.conn.SendStatus(o.streamID, rtmpconn.StatusInfo("warning", "NetStream.Play.InsufficientBW",
		"The link to the origin is too slow for this stream: media was dropped; players resume at the next keyframe.",
		amf.Prop{Key: "details", Value: o.name}))
	o.lastReport, o.reported = now, drops
}
