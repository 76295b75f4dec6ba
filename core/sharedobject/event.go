// Package sharedobject implements remote shared objects (RTMP message types 19 and 16): the codec
// of the events inside a shared-object message, the per-instance registry of objects with their
// slots, versions and subscribers, the reply sequences clients expect, and crash-safe persistence.
//
// The envelope (name, version, flags, raw events) is decoded by core/rtmpmsg; this package decodes
// each event body. Event bodies follow Red5's layout (SharedObjectTypeMapping and the RTMP
// protocol decoder/encoder), as summarised in the project's PROTOCOL.md: keys are plain u16 UTF-8
// strings, values are AMF0 in type 19 and 0x11-switched AMF3 in type 16, the SendMessage method is
// an AMF0 string with its 0x02 marker, and a Status carries two plain strings, code then level.
package sharedobject

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// EventType is the first byte of a shared-object event.
type EventType uint8

// Event types (PROTOCOL.md "Shared objects"); c→s events are requests, s→c events are replies.
const (
	EventUse           EventType = 1
	EventRelease       EventType = 2
	EventRequestChange EventType = 3
	EventChange        EventType = 4
	EventSuccess       EventType = 5
	EventSendMessage   EventType = 6
	EventStatus        EventType = 7
	EventClear         EventType = 8
	EventRemove        EventType = 9
	EventRequestRemove EventType = 10
	EventUseSuccess    EventType = 11
)

var eventNames = [...]string{"", "use", "release", "requestChange", "change", "success",
	"sendMessage", "status", "clear", "remove", "requestRemove", "useSuccess"}

// String names the event for logs and errors.
func (t EventType) String() string {
	if int(t) < len(eventNames) && t != 0 {
		return eventNames[t]
	}
	return "unknown(" + strconv.Itoa(int(t)) + ")"
}

// Codec bounds. Values are additionally bounded by the amf decoder (depth cap, lengths checked
// against the input), and the input itself is bounded by the chunk layer's message size limit.
const (
	// MaxKeyBytes bounds a slot name: real apps use short names, and each name is also a
	// persisted AMF0 key.
	MaxKeyBytes = 1024
	// MaxArgs bounds the arguments of one SendMessage.
	MaxArgs = 256
)

// Sentinel causes of codec errors, for errors.Is.
var (
	ErrUnknownEvent = errors.New("sharedobject: unknown event type")
	ErrBadEvent     = errors.New("sharedobject: malformed event")
)

// Pair is one slot name and its value, as carried by Change and RequestChange events.
type Pair struct {
	Key   string
	Value any
}

// Event is one decoded shared-object event. Which fields are meaningful depends on Type:
//
//	Use, Release, Clear, UseSuccess   none
//	RequestChange, Change             Pairs (one or more; crtmpserver packs several in one Change)
//	Success, Remove, RequestRemove    Key
//	SendMessage                       Method, Args
//	Status                            Code, Level
type Event struct {
	Type   EventType
	Key    string
	Pairs  []Pair
	Method string
	Args   []any
	Code   string
	Level  string
}

// DecodeEvents decodes every event of a shared-object message. The first malformed or unknown
// event ends decoding with an error naming its index and type.
func DecodeEvents(m *rtmpmsg.SharedObjectMessage) ([]Event, error) {
	var d amf.Decoder
	evs := make([]Event, 0, len(m.Events))
	for i, raw := range m.Events {
		ev, err := DecodeEvent(&d, raw)
		if err != nil {
			return evs, fmt.Errorf("shared object %q event %d: %w", m.Name, i, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// DecodeEvent decodes one event body with d (reset per event: reference tables do not span
// events). Events without data ignore any bytes they carry, as Red5 does; keyed events must hold
// exactly their key.
func DecodeEvent(d *amf.Decoder, raw rtmpmsg.SharedObjectEvent) (Event, error) {
	ev := Event{Type: EventType(raw.Type)}
	d.Reset(raw.Data)
	var err error
	switch ev.Type {
	case EventUse, EventRelease, EventClear, EventUseSuccess:
		return ev, nil
	case EventRequestChange, EventChange:
		ev.Pairs, err = decodePairs(d)
	case EventSuccess, EventRemove, EventRequestRemove:
		ev.Key, err = decodeKey(d)
		if err == nil && d.Len() != 0 {
			err = fmt.Errorf("%w: %d bytes after the key", ErrBadEvent, d.Len())
		}
	case EventSendMessage:
		ev.Method, ev.Args, err = decodeSend(d)
	case EventStatus:
		ev.Code, ev.Level, err = decodeStatus(d)
	default:
		return ev, fmt.Errorf("%w %d", ErrUnknownEvent, raw.Type)
	}
	if err != nil {
		return ev, fmt.Errorf("%v: %w", ev.Type, err)
	}
	return ev, nil
}

func decodeKey(d *amf.Decoder) (string, error) {
	b := d.Len()
	if b < 2 {
		return "", fmt.Errorf("%w: key length missing", ErrBadEvent)
	}
	k, err := d.String0()
	if err != nil {
		return "", fmt.Errorf("%w: key: %w", ErrBadEvent, err)
	}
	if len(k) > MaxKeyBytes {
		return "", fmt.Errorf("%w: key of %d bytes exceeds %d", ErrBadEvent, len(k), MaxKeyBytes)
	}
	return k, nil
}

// decodePairs reads key/value pairs until the event ends. The pair count needs no separate cap:
// each pair costs at least three input bytes.
func decodePairs(d *amf.Decoder) ([]Pair, error) {
	var pairs []Pair
	for d.Len() > 0 || len(pairs) == 0 {
		k, err := decodeKey(d)
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeAMF0()
		if err != nil {
			return nil, fmt.Errorf("%w: value of %q: %w", ErrBadEvent, k, err)
		}
		pairs = append(pairs, Pair{Key: k, Value: v})
	}
	return pairs, nil
}

// decodeSend reads the method (an AMF0 string with its marker; a 0x11-switched AMF3 string is
// accepted too) and the arguments until the event ends.
func decodeSend(d *amf.Decoder) (string, []any, error) {
	mv, err := d.DecodeAMF0()
	if err != nil {
		return "", nil, fmt.Errorf("%w: method: %w", ErrBadEvent, err)
	}
	method, ok := mv.(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: method is %T, not a string", ErrBadEvent, mv)
	}
	var args []any
	for d.Len() > 0 {
		if len(args) >= MaxArgs {
			return "", nil, fmt.Errorf("%w: more than %d arguments", ErrBadEvent, MaxArgs)
		}
		v, err := d.DecodeAMF0()
		if err != nil {
			return "", nil, fmt.Errorf("%w: argument %d: %w", ErrBadEvent, len(args), err)
		}
		args = append(args, v)
	}
	return method, args, nil
}

func decodeStatus(d *amf.Decoder) (string, string, error) {
	code, err := d.String0()
	if err != nil {
		return "", "", fmt.Errorf("%w: status code: %w", ErrBadEvent, err)
	}
	level, err := d.String0()
	if err != nil {
		return "", "", fmt.Errorf("%w: status level: %w", ErrBadEvent, err)
	}
	if d.Len() != 0 {
		return "", "", fmt.Errorf("%w: %d bytes after the status", ErrBadEvent, d.Len())
	}
	return code, level, nil
}

// AppendEvent appends the body of ev (not its type/length header) to dst; amf3 switches every
// value to AMF3 with 0x11 as Red5 does in type-16 messages. e is reset first.
func AppendEvent(e *amf.Encoder, dst []byte, ev *Event, amf3 bool) ([]byte, error) {
	e.Reset()
	var err error
	switch ev.Type {
	case EventUse, EventRelease, EventClear, EventUseSuccess:
	case EventRequestChange, EventChange:
		for _, p := range ev.Pairs {
			dst = appendKey(dst, p.Key)
			if dst, err = appendValue(e, dst, p.Value, amf3); err != nil {
				return dst, fmt.Errorf("%v %q: %w", ev.Type, p.Key, err)
			}
		}
	case EventSuccess, EventRemove, EventRequestRemove:
		dst = appendKey(dst, ev.Key)
	case EventSendMessage:
		dst = amf.AppendString0(dst, ev.Method)
		for i, a := range ev.Args {
			if dst, err = appendValue(e, dst, a, amf3); err != nil {
				return dst, fmt.Errorf("%v argument %d: %w", ev.Type, i, err)
			}
		}
	case EventStatus:
		dst = appendKey(dst, ev.Code)
		dst = appendKey(dst, ev.Level)
	default:
		return dst, fmt.Errorf("%w %d", ErrUnknownEvent, ev.Type)
	}
	return dst, nil
}

// EncodeEvent returns ev as a raw event ready for rtmpmsg.AppendSharedObject.
func EncodeEvent(e *amf.Encoder, ev *Event, amf3 bool) (rtmpmsg.SharedObjectEvent, error) {
	b, err := AppendEvent(e, nil, ev, amf3)
	return rtmpmsg.SharedObjectEvent{Type: uint8(ev.Type), Data: b}, err
}

func appendKey(dst []byte, s string) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendValue(e *amf.Encoder, dst []byte, v any, amf3 bool) ([]byte, error) {
	if amf3 {
		return e.AppendSwitched(dst, v)
	}
	return e.AppendAMF0(dst, v)
}
