package plugin

import (
	"context"
	"time"
)

// EventKind is what happened.
type EventKind uint8

// The events an events module receives.
const (
	EvConnect EventKind = iota + 1 // a connect was answered (Status: Success or the rejection code)
	EvDisconnect
	EvPublish
	EvUnpublish
	EvPlay
	EvStop // a play ended
	EvRecord
	EvRecordStop
	EvAppLoad
	EvAppReload
	EvAppError
	EvAppUnload
)

var eventNames = [...]string{EvConnect: "connect", EvDisconnect: "disconnect", EvPublish: "publish",
	EvUnpublish: "unpublish", EvPlay: "play", EvStop: "stop", EvRecord: "record", EvRecordStop: "recordStop",
	EvAppLoad: "appLoad", EvAppReload: "appReload", EvAppError: "appError", EvAppUnload: "appUnload"}

// String is the event's name in JSON, logs and JS hooks.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one thing that happened on the server. A sink may keep the *Event it is given but
// must not change it: every sink gets the same one.
type Event struct {
	Kind EventKind
	Time time.Time
	// Seq numbers the events of the server from 1, in the order they were emitted; the events
	// of one session are emitted in order by that session's goroutine.
	Seq uint64

	App, Instance string
	// ClientID is the session's id ("" for app events).
	ClientID                               string
	IP, Protocol, Agent, Referrer, PageURL string
	Edge                                   string
	// Stream is the stream's name (publish, play and their ends, record).
	Stream string
	// Status is the FMS code the client was given (NetConnection.Connect.Success,
	// NetStream.Publish.BadName, ...); Reason the description or the error.
	Status, Reason string
	// BytesIn and BytesOut are the session's bytes (disconnect) or the stream's (unpublish,
	// stop) when the transport counts them; Duration is how long it lasted.
	BytesIn, BytesOut uint64
	Duration          time.Duration
}

// EventSink is the events extension point. HandleEvent is called on the sink's own goroutine,
// one event at a time in emission order, within about 10 ms of the event (a busy server's
// events are handed over in bursts); it may block (a webhook POST), but then the sink's bounded
// queue (EventQueueLen) fills and further events are dropped and counted, never the server
// delayed. ctx ends when the server stops.
type EventSink interface {
	HandleEvent(ctx context.Context, ev *Event)
}

// EventFlusher is implemented by a sink that buffers what HandleEvent writes (a log file):
// FlushEvents is called on the sink's goroutine when its queue is empty at the end of a linger
// (at most about 10 ms after the first event of a burst), so that a burst is written in one go
// and a quiet server's lines are out within that time.
type EventFlusher interface {
	FlushEvents(ctx context.Context)
}

// EventSelector is implemented by a sink that wants only some kinds of events (an access log
// writes only the ends of sessions): the others are not queued for it. It is asked once, when
// the Host is made.
type EventSelector interface {
	WantsEvent(kind EventKind) bool
}

// EventQueued is implemented by a sink that wants a queue of another length than
// DefaultEventQueue.
type EventQueued interface {
	EventQueueLen() int
}

// EventLingerer is implemented by a sink whose events may gather longer than the bus's
// DefaultEventLinger before it handles what came meanwhile and flushes (a file that is cheaper
// to write a few times a second than a hundred). Up to MaxEventLinger.
type EventLingerer interface {
	EventLinger() time.Duration
}

// DefaultEventQueue is a sink's queue length unless it says otherwise.
const DefaultEventQueue = 4096
