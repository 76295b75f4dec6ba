package netstream

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// StatusInfo is a NetStream status as FMS sends it: level, code and description, then details (the
// stream name) and the client's id.
func StatusInfo(level, code, description, name, clientID string) *amf.Object {
	return rtmpconn.StatusInfo(level, code, description,
		amf.Prop{Key: "details", Value: name}, amf.Prop{Key: "clientid", Value: clientID})
}

// NotifyStatus is what a player of name gets when the stream's publisher comes
// (NetStream.Play.PublishNotify) or goes (NetStream.Play.UnpublishNotify); nil for other events.
func NotifyStatus(ev live.Event, name, clientID string) *amf.Object {
	switch ev.Kind {
	case live.EventPublishNotify:
		return StatusInfo("status", "NetStream.Play.PublishNotify", name+" is now published.", name, clientID)
	case live.EventUnpublishNotify:
		return StatusInfo("status", "NetStream.Play.UnpublishNotify", name+" is now unpublished.", name, clientID)
	}
	return nil
}
