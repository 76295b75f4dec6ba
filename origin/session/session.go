package session

import (
	"fmt"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/netstream"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// Session is one client of the origin, whatever carries it. All its state is owned by one
// goroutine, the transport's (a direct connection's reader, a trunk session's goroutine): every
// method but those of its app side (appSide, called on the app's loop) runs there.
type Session struct {
	env *Env
	t   Transport

	connected bool
	target    Target
	hub       *live.Hub         // the instance's (js.Hub())
	js        *scripting.Client // the app's handle on this client
	app       *appSide
	streams   map[uint32]*netStream
	nextID    uint32
	closed    bool
	base      Base
	// connectedAt is when the app accepted the client; soAuthorized the shared objects the auth
	// modules let it use.
	connectedAt  time.Time
	soAuthorized map[string]bool
}

// New makes the session of a transport; Command with "connect" starts it.
func New(env *Env, t Transport) *Session {
	return &Session{env: env, t: t, streams: make(map[uint32]*netStream)}
}

// Connected reports whether the app accepted the client.
func (s *Session) Connected() bool { return s.connected }

// Target is where the client connected (valid once connected).
func (s *Session) Target() Target { return s.target }

// Hub is the connected instance's live hub (nil before connect).
func (s *Session) Hub() *live.Hub { return s.hub }

type commandFunc func(s *Session, streamID uint32, cmd *rtmpmsg.Command) error

// IsNetCommand reports whether name is a NetConnection/NetStream command the session answers
// itself rather than a call to the app.
func IsNetCommand(name string) bool { return commandFor(name) != nil }

// commandFor returns the session's own handler of a NetConnection/NetStream command, or nil.
func commandFor(name string) commandFunc {
	switch name {
	case "createStream":
		return (*Session).onCreateStream
	case "deleteStream":
		return (*Session).onDeleteStream
	case "closeStream":
		return (*Session).onCloseStream
	case "releaseStream":
		return (*Session).onReleaseStream
	case "FCPublish":
		return (*Session).onFCPublish
	case "FCUnpublish":
		return (*Session).onFCUnpublish
	case "FCSubscribe":
		return (*Session).onFCSubscribe
	case "FCUnsubscribe", "_checkbw":
		return (*Session).onAnswerNull
	case "getStreamLength":
		return (*Session).onGetStreamLength
	case "publish":
		return (*Session).onPublish
	case "play", "play2":
		return (*Session).onPlay
	case "pause", "pauseRaw":
		return (*Session).onPause
	case "seek":
		return (*Session).onSeek
	case "receiveAudio":
		return (*Session).onReceiveAudio
	case "receiveVideo":
		return (*Session).onReceiveVideo
	case "_result", "_error":
		return (*Session).onClientResult
	}
	return nil
}

// Command handles one command of the client. An error ends the client (a protocol breach);
// everything the client may legitimately get wrong is answered instead.
func (s *Session) Command(streamID uint32, cmd *rtmpmsg.Command) error {
	if cmd.Name == "connect" && !s.connected {
		return s.onConnect(cmd)
	}
	if !s.connected {
		return fmt.Errorf("command %q before connect", cmd.Name)
	}
	if f := commandFor(cmd.Name); f != nil {
		return f(s, streamID, cmd)
	}
	return s.onCall(streamID, cmd)
}

// onCall hands a call on stream 0 to the app, which answers it (or _error for a missing
// method); other commands nobody handles get _error when an answer is wanted, never a close
// (CLIENTS.md #23).
func (s *Session) onCall(streamID uint32, cmd *rtmpmsg.Command) error {
	if streamID == 0 {
		if s.publishing() {
			s.js.Call(cmd.Name, cmd.TxnID, cmd.Args) // its reader must go on taking the media
		} else {
			// Held: an answer given while the call runs here is written once the job is over,
			// by this goroutine, which is awake anyway (no writer to wake), and its write is
			// not counted as the app's time.
			s.t.Held(func() { s.js.CallNow(cmd.Name, cmd.TxnID, cmd.Args) })
		}
		return nil
	}
	if cmd.TxnID == 0 {
		return nil
	}
	return s.t.SendCommand(streamID, "_error", cmd.TxnID, scripting.MethodNotFound())
}

// publishing reports whether one of the client's streams publishes.
func (s *Session) publishing() bool {
	for _, ns := range s.streams {
		if ns.pub != nil {
			return true
		}
	}
	return false
}

func (s *Session) onAnswerNull(streamID uint32, cmd *rtmpmsg.Command) error {
	return s.answer(streamID, cmd, nil)
}

// answer sends _result for a command that wants one.
func (s *Session) answer(streamID uint32, cmd *rtmpmsg.Command, v any) error {
	if cmd.TxnID == 0 {
		return nil
	}
	return s.t.SendCommand(streamID, "_result", cmd.TxnID, v)
}

// onClientResult routes a client's answer to a server→client call made by the app.
func (s *Session) onClientResult(_ uint32, cmd *rtmpmsg.Command) error {
	var v any = cmd.Object
	if len(cmd.Args) > 0 {
		v = cmd.Args[0]
	}
	s.app.answer(cmd.TxnID, cmd.Name == "_error", v)
	return nil
}

// Close ends the session when its transport has ended: every stream is closed, the shared
// objects released and the app told (onDisconnect), which lets its instance go idle. Only the
// first call does anything.
func (s *Session) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for id, ns := range s.streams {
		ns.close(false)
		delete(s.streams, id)
	}
	if s.app != nil {
		s.app.releaseSharedObjects()
	}
	if s.js != nil {
		s.js.Disconnect()
		s.js = nil
	}
	s.emitDisconnect()
}

// status builds a NetStream status with FMS's details and clientid fields.
func (s *Session) status(level, code, desc, name string) *amf.Object {
	return netstream.StatusInfo(level, code, desc, name, s.t.ID())
}

// argString returns args[i] as a string ("" if absent or not a string).
func argString(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

// argNumber returns args[i] as a number, or def.
func argNumber(args []any, i int, def float64) float64 {
	if i < len(args) {
		if f, ok := args[i].(float64); ok {
			return f
		}
	}
	return def
}

// argBool returns args[i] as a boolean, or def.
func argBool(args []any, i int, def bool) bool {
	if i < len(args) {
		if b, ok := args[i].(bool); ok {
			return b
		}
	}
	return def
}
