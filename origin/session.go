package origin

import (
	"fmt"

	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// session is the origin's side of one client connection. All its state is owned by the
// connection's read goroutine; other goroutines (stream hubs) only call the connection's
// thread-safe send and close methods.
type session struct {
	srv       *Server
	conn      *rtmpconn.Conn
	inst      *instance
	target    Target
	connected bool
	js        *scripting.Client // the app's handle on this connection
	jss       *jsSession
	so        *soSubscriber // set on the first shared-object message
	streams   map[uint32]*netStream
	nextID    uint32
}

func newSession(s *Server) *session {
	return &session{srv: s, streams: make(map[uint32]*netStream)}
}

type commandFunc func(s *session, streamID uint32, cmd *rtmpmsg.Command) error

// commandFor returns the origin's own handler of a NetConnection/NetStream command, or nil.
func commandFor(name string) commandFunc {
	switch name {
	case "connect":
		return (*session).onConnect
	case "createStream":
		return (*session).onCreateStream
	case "deleteStream":
		return (*session).onDeleteStream
	case "closeStream":
		return (*session).onCloseStream
	case "releaseStream":
		return (*session).onReleaseStream
	case "FCPublish":
		return (*session).onFCPublish
	case "FCUnpublish":
		return (*session).onFCUnpublish
	case "FCSubscribe":
		return (*session).onFCSubscribe
	case "FCUnsubscribe", "_checkbw":
		return (*session).onAnswerNull
	case "getStreamLength":
		return (*session).onGetStreamLength
	case "publish":
		return (*session).onPublish
	case "play", "play2":
		return (*session).onPlay
	case "pause", "pauseRaw":
		return (*session).onPause
	case "seek":
		return (*session).onSeek
	case "receiveAudio":
		return (*session).onReceiveAudio
	case "receiveVideo":
		return (*session).onReceiveVideo
	case "_result", "_error":
		return (*session).onClientResult
	}
	return nil
}

// HandleCommand implements rtmpconn.Handler.
func (s *session) HandleCommand(c *rtmpconn.Conn, streamID uint32, cmd *rtmpmsg.Command) error {
	if h := s.srv.cfg.clientHooks; h != nil && h.command != nil {
		h.command(cmd.Name)
	}
	if !s.connected && cmd.Name != "connect" {
		return fmt.Errorf("command %q before connect", cmd.Name)
	}
	if f := commandFor(cmd.Name); f != nil {
		return f(s, streamID, cmd)
	}
	return s.onUnknownCommand(streamID, cmd)
}

// onUnknownCommand answers a call the origin has no handler for: _error when an answer is
// wanted, never a close (CLIENTS.md #23).
func (s *session) onUnknownCommand(streamID uint32, cmd *rtmpmsg.Command) error {
	if s.js != nil && streamID == 0 {
		s.js.Call(cmd.Name, cmd.TxnID, cmd.Args) // the app answers (or _error for a missing method)
		return nil
	}
	if cmd.TxnID == 0 {
		return nil
	}
	return s.conn.SendCommand(streamID, "_error", cmd.TxnID, nil, scripting.MethodNotFound())
}

func (s *session) onAnswerNull(streamID uint32, cmd *rtmpmsg.Command) error {
	return s.answer(streamID, cmd, nil)
}

// answer sends _result for a command that wants one.
func (s *session) answer(streamID uint32, cmd *rtmpmsg.Command, v any) error {
	if cmd.TxnID == 0 {
		return nil
	}
	return s.conn.SendCommand(streamID, "_result", cmd.TxnID, nil, v)
}

// onClientResult routes a client's answer to a server→client call made by the app.
func (s *session) onClientResult(_ uint32, cmd *rtmpmsg.Command) error {
	if s.jss == nil {
		return nil
	}
	var v any = cmd.Object
	if len(cmd.Args) > 0 {
		v = cmd.Args[0]
	}
	s.jss.answer(cmd.TxnID, cmd.Name == "_error", v)
	return nil
}

func (s *session) onGetStreamLength(streamID uint32, cmd *rtmpmsg.Command) error {
	return s.answer(streamID, cmd, float64(0))
}

// Closed implements rtmpconn.Handler: every stream is closed and the instance released.
func (s *session) Closed(_ *rtmpconn.Conn, _ error) {
	for id, ns := range s.streams {
		ns.close()
		delete(s.streams, id)
	}
	s.closeSharedObjects()
	if s.js != nil {
		s.js.Disconnect()
		s.js = nil
	}
	if s.inst != nil {
		s.srv.apps.release(s.inst)
		s.inst = nil
	}
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
