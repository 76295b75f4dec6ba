package session

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/record"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/vod"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/rs/zerolog"
)

// Transport is what differs between the ways a client reaches the origin: how its messages are
// written and how its media gets in and out. It holds no FMS rule: every verdict, status and
// check is the Session's. Its methods never block; the ones marked "any goroutine" may be called
// from the app's loop as well as from the session's own goroutine.
type Transport interface {
	// ID is the client id the app sees (client.id) and FMS puts in statuses as clientid.
	ID() string
	Log() *zerolog.Logger
	// Done is closed when the transport has ended; a wait for an app's verdict gives up then.
	Done() <-chan struct{}
	// Stats are the client's counters (any goroutine).
	Stats() scripting.ClientStats

	// SendCommand queues a command (a call, _result, _error, onStatus) in the client's object
	// encoding (any goroutine).
	SendCommand(streamID uint32, name string, txn float64, args ...any) error
	// Held runs fn with the client's outbound messages held, then writes what fn queued from
	// the calling goroutine (the session's).
	Held(fn func())
	// AcceptConnect answers connect with info (NetConnection.Connect.Success), switches the
	// connection to AMF3 when amf3, and sends onBWDone when sendBWDone, as one write (any goroutine).
	AcceptConnect(txn float64, info *amf.Object, amf3, sendBWDone bool)
	// RejectConnect answers connect with _error(info) and closes once it is written (any goroutine).
	RejectConnect(txn float64, info *amf.Object)
	// CloseWithStatus sends onStatus(info) on stream 0 and closes once it is written (any
	// goroutine): the app's application.disconnect, client.close.
	CloseWithStatus(info *amf.Object)
	// Kill closes at once (a publisher replaced by a new one).
	Kill(reason error)
	// SharedObjectSink is the subscriber through which reg's updates reach this client; the
	// same value for every call.
	SharedObjectSink(reg *sharedobject.Registry) sharedobject.Subscriber

	// PublishStarted binds the client's media on streamID to pub and sends status
	// (NetStream.Publish.Start), after StreamBegin.
	PublishStarted(streamID uint32, name string, pub *live.Publication, status *amf.Object) error
	// PublishStopped unbinds streamID's media; status (NetStream.Unpublish.Success) is sent
	// unless nil (the session is ending).
	PublishStopped(streamID uint32, status *amf.Object)
	// StartPlay starts delivering the live stream name of hub on streamID, preceded by what
	// players need before the first frame (netstream.PlayStart), so that the client has
	// Play.Start before any media published after it.
	StartPlay(streamID uint32, name string, reset bool, hub *live.Hub) (Play, error)
	// StartFilePlay starts the recorded play p on streamID, after what players of a recording
	// need before its first frame: StreamIsRecorded, then netstream.PlayStart's messages. The
	// returned Play is a Seeker. On error p is the caller's to stop.
	StartFilePlay(streamID uint32, name string, reset bool, p *vod.Player) (Play, error)
	// StreamStatus sends a NetStream status that needs nothing else of the transport (a refusal,
	// Pause.Notify, Seek.Notify).
	StreamStatus(streamID uint32, status *amf.Object) error
}

// Play is one running play of a NetStream, live or recorded.
type Play interface {
	Pause(on bool)
	ReceiveAudio(on bool)
	ReceiveVideo(on bool)
	// Stop ends the delivery, sends StreamEOF, then status (NetStream.Play.Stop) unless nil.
	Stop(status *amf.Object)
}

// Env is what every session of a server shares.
type Env struct {
	Engine Engine
	// MaxStreams bounds a client's NetStreams (createStream, and streams used without it).
	MaxStreams int
	// Plugins are the server's plug-in modules (nil: none): asked before the app, told after.
	Plugins *plugin.Host
	// Storage is where recordings are written and read (nil: recording publishes are refused);
	// Recordings are the server's running recordings (its shutdown waits for them).
	Storage    plugin.Storage
	Recordings *record.Set
	// Library shares the recordings being played (nil: recorded playback is off: plays of
	// recordings are answered as if none existed).
	Library *vod.Library
}

// Engine is the JS app engine as a session uses it (*scripting.Engine).
type Engine interface {
	Connect(app, instance string, s scripting.Session) (*scripting.Client, error)
}
