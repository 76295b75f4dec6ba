package rtmpmsg

import (
	"encoding/binary"
	"fmt"
)

// MaxSharedObjectEvents bounds the events of one shared-object message.
const MaxSharedObjectEvents = 1 << 16

// SharedObjectEvent is one event of a shared-object message, its body still encoded (the
// shared-object layer decodes it).
type SharedObjectEvent struct {
	Type uint8
	Data []byte
}

// SharedObjectMessage is the envelope of a type 19/16 message.
type SharedObjectMessage struct {
	Name    string
	Version uint32
	Flags   uint32 // any non-zero value means persistent (clients differ on which bit)
	Events  []SharedObjectEvent
}

// Persistent reports the flags as clients mean them.
func (m *SharedObjectMessage) Persistent() bool { return m.Flags != 0 }

// DecodeSharedObject reads the envelope: name (u16 + UTF-8), version, flags, 4 reserved bytes,
// then events of type (u8), length (u32) and data. Type 16 starts with one byte (0, or 3 for an
// AMF3 name as Red5 accepts). Event bodies alias payload.
func DecodeSharedObject(typeID uint8, payload []byte) (SharedObjectMessage, error) {
	var m SharedObjectMessage
	p := payload
	if typeID == TypeSharedObjectAMF3 {
		if len(p) == 0 || (p[0] != 0 && p[0] != 3) {
			return m, fmt.Errorf("%w: AMF3 shared object format byte", ErrInvalid)
		}
		p = p[1:]
	}
	if len(p) < 2 {
		return m, fmt.Errorf("%w: shared object name", ErrShort)
	}
	n := int(binary.BigEndian.Uint16(p))
	if len(p) < 2+n+12 {
		return m, fmt.Errorf("%w: shared object header", ErrShort)
	}
	m.Name = string(p[2 : 2+n])
	p = p[2+n:]
	m.Version = binary.BigEndian.Uint32(p)
	m.Flags = binary.BigEndian.Uint32(p[4:])
	p = p[12:]
	for len(p) > 0 {
		if len(m.Events) >= MaxSharedObjectEvents {
			return m, fmt.Errorf("%w: more than %d shared object events", ErrInvalid, MaxSharedObjectEvents)
		}
		if len(p) < 5 {
			return m, fmt.Errorf("%w: shared object event header", ErrShort)
		}
		l := binary.BigEndian.Uint32(p[1:])
		if uint64(l) > uint64(len(p)-5) {
			return m, fmt.Errorf("%w: shared object event of %d bytes, %d left", ErrShort, l, len(p)-5)
		}
		m.Events = append(m.Events, SharedObjectEvent{Type: p[0], Data: p[5 : 5+l]})
		p = p[5+l:]
	}
	return m, nil
}

// AppendSharedObject encodes a shared-object message; amf3 writes the type-16 format byte.
// Persistent objects carry flags 2, as Red5 writes them.
func AppendSharedObject(dst []byte, m *SharedObjectMessage, amf3 bool) []byte {
	if amf3 {
		dst = append(dst, 0)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Name)))
	dst = append(dst, m.Name...)
	dst = binary.BigEndian.AppendUint32(dst, m.Version)
	flags := uint32(0)
	if m.Flags != 0 {
		flags = 2
	}
	dst = binary.BigEndian.AppendUint32(dst, flags)
	dst = append(dst, 0, 0, 0, 0)
	for _, ev := range m.Events {
		dst = append(dst, ev.Type)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(ev.Data)))
		dst = append(dst, ev.Data...)
	}
	return dst
}
