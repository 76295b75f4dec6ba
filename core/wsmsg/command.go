package wsmsg

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// FromCommand is the message for a command the server sends a client on the connection (stream
// 0) or, for a status, on a NetStream: _result and _error answer the client's call of that id,
// onStatus is a status, anything else is a call of the client's method (id 0: no answer wanted).
func FromCommand(streamID uint32, name string, txn float64, args []any) Message {
	switch name {
	case "_result":
		return Message{Type: TypeResult, ID: txn, Value: first(args)}
	case "_error":
		return Message{Type: TypeError, ID: txn, Info: first(args)}
	case "onStatus":
		return Message{Type: TypeStatus, Info: first(args), Stream: streamID}
	}
	return Message{Type: TypeCall, ID: txn, Method: name, Args: args}
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// ToCommand is the RTMP command that a client's call, result or error stands for (as an AMF3
// client would send it), for the session core: a call is the method with its arguments, a
// result or error the answer (_result, _error) to the server's call of that id.
func ToCommand(m *Message) *rtmpmsg.Command {
	switch m.Type {
	case TypeResult:
		return &rtmpmsg.Command{Name: "_result", TxnID: m.ID, Args: []any{m.Value}, AMF3: true}
	case TypeError:
		info := m.Info
		if _, ok := info.(*amf.Object); !ok {
			info = nil // the session then reports NetConnection.Call.Failed to the app
		}
		return &rtmpmsg.Command{Name: "_error", TxnID: m.ID, Args: []any{info}, AMF3: true}
	}
	return &rtmpmsg.Command{Name: m.Method, TxnID: m.ID, Args: m.Args, AMF3: true}
}

// IsStreamCommand reports whether name is a NetStream command or one of the NetConnection
// commands that serve streams (createStream, FCPublish, ...), or an answer's name: what a
// client of fmsgo.v1, which carries no media, may not call. The session core answers them
// itself for an RTMP client.
func IsStreamCommand(name string) bool {
	switch name {
	case "createStream", "deleteStream", "closeStream", "releaseStream", "FCPublish", "FCUnpublish",
		"FCSubscribe", "FCUnsubscribe", "_checkbw", "getStreamLength", "publish", "play", "play2",
		"pause", "pauseRaw", "seek", "receiveAudio", "receiveVideo", "_result", "_error":
		return true
	}
	return false
}
