// Package wsmsg is the message layer of fmsgo.v1, the WebSocket subprotocol through which a
// browser is an ordinary client of an FMS application: one JSON object per text frame, tagged by
// its "type", carrying connect, calls both ways, statuses and shared objects. Every value inside
// a message (call arguments, results, status objects, slot values) is core/amfjson's JSON, so a
// browser's values reach the app exactly as an RTMP client's do. docs/websocket.md is the
// protocol's reference; this package is its one codec, shared by the origin and the edge.
package wsmsg

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/amfjson"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// Subprotocol is the name a client asks for in Sec-WebSocket-Protocol.
const Subprotocol = "fmsgo.v1"

// Type says what a message is: its "type" member.
type Type string

// Message types. The comment says who sends it: c (the client), s (the server), or both.
const (
	TypeConnect    Type = "connect"    // c: connect{args}
	TypeConnected  Type = "connected"  // s: connected{info}, the app accepted
	TypeRejected   Type = "rejected"   // s: rejected{info}, then the server closes
	TypeCall       Type = "call"       // both: call{id,method,args}; id 0 or absent wants no answer
	TypeResult     Type = "result"     // both: result{id,value}, the answer to a call
	TypeError      Type = "error"      // both: error{id,info}, a call that failed
	TypeStatus     Type = "status"     // s: status{info} (NetConnection codes)
	TypeSOUse      Type = "so.use"     // c: so.use{name,persistent,version}
	TypeSOSet      Type = "so.set"     // c: so.set{name,key,value}
	TypeSODelete   Type = "so.delete"  // c: so.delete{name,key}
	TypeSOSend     Type = "so.send"    // both: so.send{name,method,args}
	TypeSORelease  Type = "so.release" // c: so.release{name}
	TypeSOSync     Type = "so.sync"    // s: so.sync{name,version,changes}
	TypeSOStatus   Type = "so.status"  // s: so.status{name,info} (SharedObject codes)
	TypePing       Type = "ping"       // c: ping{id}
	TypePong       Type = "pong"       // s: pong{id}
	maxMethodBytes      = 0xFFFF       // a shared object's method is an AMF0 string
	maxNameBytes        = 0xFFFF       // a shared object's name is a u16 string
)

// Sync codes of so.sync changes, as Flash's SyncEvent names them.
const (
	CodeChange  = "change"  // someone else set the slot: value is its new value
	CodeSuccess = "success" // the client's own set was applied
	CodeReject  = "reject"  // the client's write was refused: value (absent: no slot) is what stays
	CodeDelete  = "delete"  // the slot was deleted
	CodeClear   = "clear"   // every slot the client held is gone (before the object's slots)
)

// Message is one fmsgo.v1 message; which fields it carries depends on Type (see the constants).
type Message struct {
	Type       Type
	ID         float64 // call, result, error, ping, pong
	Method     string  // call, so.send
	Args       []any   // connect, call, so.send
	Value      any     // result, so.set
	Info       any     // connected, rejected, error, status, so.status: a status object
	Stream     uint32  // status: the NetStream it is about (0: the connection)
	Name       string  // so.*
	Key        string  // so.set, so.delete
	Persistent bool    // so.use
	Version    uint32  // so.use (the version the client holds), so.sync
	Changes    []Change
}

// Change is one item of a so.sync.
type Change struct {
	Code  string
	Name  string // the slot (empty for clear)
	Value any
	// HasValue says whether Value is sent: change carries it, a reject of a slot that exists too.
	HasValue bool
}

// ErrBadMessage wraps every decoding error: the frame is not a fmsgo.v1 message.
var ErrBadMessage = errors.New("wsmsg: bad message")

// wire is a message as JSON has it, its values still raw.
type wire struct {
	Type       Type            `json:"type"`
	ID         float64         `json:"id"`
	Method     string          `json:"method"`
	Args       json.RawMessage `json:"args"`
	Value      json.RawMessage `json:"value"`
	Info       json.RawMessage `json:"info"`
	Name       string          `json:"name"`
	Key        string          `json:"key"`
	Persistent bool            `json:"persistent"`
	Version    uint32          `json:"version"`
	Stream     uint32          `json:"stream"`
	Changes    []wireChange    `json:"changes"`
}

type wireChange struct {
	Code  string          `json:"code"`
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Decode reads one message a client sent. frame comes from the network (its length already
// capped by the connection): its values are decoded with amfjson under maxDepth (0: amfjson's
// default), and what each type needs is checked. Members a type does not use are ignored, so
// that a newer client's additions do not break an older server.
func Decode(frame []byte, maxDepth int) (Message, error) {
	return decode(frame, maxDepth, (*Message).decodeValues)
}

// DecodeServer reads one message a server sent: what a Go client of fmsgo.v1 (the tests, a
// load generator) reads.
func DecodeServer(frame []byte, maxDepth int) (Message, error) {
	return decode(frame, maxDepth, (*Message).decodeServerValues)
}

func decode(frame []byte, maxDepth int, values func(*Message, *wire, int) error) (Message, error) {
	var w wire
	if err := json.Unmarshal(frame, &w); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	m := Message{Type: w.Type, ID: w.ID, Method: w.Method, Name: w.Name, Key: w.Key,
		Persistent: w.Persistent, Version: w.Version, Stream: w.Stream}
	if err := values(&m, &w, maxDepth); err != nil {
		return Message{}, fmt.Errorf("%w: %s: %w", ErrBadMessage, w.Type, err)
	}
	if err := m.check(); err != nil {
		return Message{}, fmt.Errorf("%w: %s: %w", ErrBadMessage, w.Type, err)
	}
	return m, nil
}

// decodeValues decodes the raw members the message's type uses.
func (m *Message) decodeValues(w *wire, maxDepth int) error {
	var err error
	switch m.Type {
	case TypeConnect, TypeCall, TypeSOSend:
		m.Args, err = decodeArgs(w.Args, maxDepth)
	case TypeResult, TypeSOSet:
		if w.Value == nil {
			return errors.New("no value")
		}
		m.Value, err = amfjson.Decode(w.Value, maxDepth)
	case TypeError:
		if w.Info != nil {
			m.Info, err = amfjson.Decode(w.Info, maxDepth)
		}
	case TypeSODelete, TypeSOUse, TypeSORelease, TypePing:
	default:
		return errors.New("not a message type a client sends")
	}
	return err
}

// decodeServerValues decodes the raw members of the types a server sends.
func (m *Message) decodeServerValues(w *wire, maxDepth int) error {
	var err error
	switch m.Type {
	case TypeCall, TypeSOSend:
		m.Args, err = decodeArgs(w.Args, maxDepth)
	case TypeResult:
		m.Value, err = decodeOptional(w.Value, maxDepth)
	case TypeConnected, TypeRejected, TypeError, TypeStatus, TypeSOStatus:
		m.Info, err = decodeOptional(w.Info, maxDepth)
	case TypeSOSync:
		m.Changes = make([]Change, len(w.Changes))
		for i, c := range w.Changes {
			m.Changes[i] = Change{Code: c.Code, Name: c.Name, HasValue: c.Value != nil}
			if m.Changes[i].Value, err = decodeOptional(c.Value, maxDepth); err != nil {
				return fmt.Errorf("change %d: %w", i, err)
			}
		}
	case TypePong:
	default:
		return errors.New("not a message type a server sends")
	}
	return err
}

func decodeOptional(raw json.RawMessage, maxDepth int) (any, error) {
	if raw == nil {
		return nil, nil
	}
	return amfjson.Decode(raw, maxDepth)
}

// decodeArgs decodes an argument list, one amfjson value (so that $ref spans the arguments).
func decodeArgs(raw json.RawMessage, maxDepth int) ([]any, error) {
	if raw == nil {
		return nil, nil
	}
	v, err := amfjson.Decode(raw, maxDepth)
	if err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	a, ok := v.(*amf.Array)
	if !ok || len(a.Assoc) > 0 || a.ECMA {
		return nil, errors.New("args is not a plain array")
	}
	if len(a.Dense) > rtmpmsg.MaxArgs {
		return nil, fmt.Errorf("%d args, more than %d", len(a.Dense), rtmpmsg.MaxArgs)
	}
	if len(a.Dense) == 0 {
		return nil, nil // [] and no args are the same call
	}
	return a.Dense, nil
}

// check verifies what the message's type requires.
func (m *Message) check() error {
	switch m.Type {
	case TypeCall:
		if m.ID < 0 {
			return errors.New("negative id")
		}
		return checkMethod(m.Method)
	case TypeResult, TypeError:
		if m.ID <= 0 {
			return errors.New("an answer needs the id of the call")
		}
	case TypeSOSend:
		if err := checkMethod(m.Method); err != nil {
			return err
		}
	case TypeSOSet, TypeSODelete:
		if m.Key == "" || len(m.Key) > sharedobject.MaxKeyBytes {
			return fmt.Errorf("key of %d bytes (1 to %d)", len(m.Key), sharedobject.MaxKeyBytes)
		}
	}
	if m.Type.isSO() && (m.Name == "" || len(m.Name) > maxNameBytes) {
		return fmt.Errorf("shared object name of %d bytes", len(m.Name))
	}
	return nil
}

func checkMethod(name string) error {
	if name == "" || len(name) > maxMethodBytes {
		return fmt.Errorf("method name of %d bytes", len(name))
	}
	return nil
}

func (t Type) isSO() bool { return len(t) > 3 && t[:3] == "so." }
