// Package rtmpmsg is RTMP's message layer: protocol control and user control messages, commands
// and data in AMF0 (20/18) and AMF3 (17/15), aggregate messages (22) split into their parts, and
// the envelope of shared-object messages (19/16). Decoders take untrusted payloads: every length
// is checked, and nothing here ends a connection on an unknown type — the caller decides.
package rtmpmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message type ids.
const (
	TypeSetChunkSize     = 1
	TypeAbort            = 2
	TypeAck              = 3
	TypeUserControl      = 4
	TypeWindowAckSize    = 5
	TypeSetPeerBandwidth = 6
	TypeAudio            = 8
	TypeVideo            = 9
	TypeDataAMF3         = 15
	TypeSharedObjectAMF3 = 16
	TypeCommandAMF3      = 17
	TypeDataAMF0         = 18
	TypeSharedObjectAMF0 = 19
	TypeCommandAMF0      = 20
	TypeAggregate        = 22
)

// User control event types.
const (
	EventStreamBegin      uint16 = 0
	EventStreamEOF        uint16 = 1
	EventStreamDry        uint16 = 2
	EventSetBufferLength  uint16 = 3
	EventStreamIsRecorded uint16 = 4
	EventPingRequest      uint16 = 6
	EventPingResponse     uint16 = 7
	EventSWFVerifyRequest uint16 = 26
	EventSWFVerifyReply   uint16 = 27
	EventBufferEmpty      uint16 = 31
	EventBufferReady      uint16 = 32
)

// Errors the decoders wrap, so that callers can tell a truncated message from a malformed one.
var (
	ErrShort   = errors.New("rtmpmsg: message too short")
	ErrInvalid = errors.New("rtmpmsg: invalid message")
)

func u32(p []byte) (uint32, error) {
	if len(p) < 4 {
		return 0, fmt.Errorf("%w: %d bytes", ErrShort, len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}

// ParseSetChunkSize reads Set Chunk Size: 31 bits, the top bit must be 0.
func ParseSetChunkSize(p []byte) (uint32, error) {
	n, err := u32(p)
	if err != nil {
		return 0, err
	}
	if n&0x80000000 != 0 || n == 0 {
		return 0, fmt.Errorf("%w: chunk size %d", ErrInvalid, n)
	}
	return n, nil
}

// ParseAbort reads the chunk stream id of an Abort Message.
func ParseAbort(p []byte) (uint32, error) { return u32(p) }

// ParseAck reads an Acknowledgement's byte count.
func ParseAck(p []byte) (uint32, error) { return u32(p) }

// ParseWindowAckSize reads Window Acknowledgement Size.
func ParseWindowAckSize(p []byte) (uint32, error) { return u32(p) }

// ParseSetPeerBandwidth reads Set Peer Bandwidth: window size and limit type (0 hard, 1 soft,
// 2 dynamic).
func ParseSetPeerBandwidth(p []byte) (uint32, uint8, error) {
	n, err := u32(p)
	if err != nil || len(p) < 5 {
		return 0, 0, fmt.Errorf("%w: set peer bandwidth", ErrShort)
	}
	return n, p[4], nil
}

// UserControl is a decoded user control message: its event and up to two data words.
type UserControl struct {
	Event uint16
	Data  uint32
	Data2 uint32
}

// ParseUserControl reads a User Control message; missing data words read as 0 (clients differ).
func ParseUserControl(p []byte) (UserControl, error) {
	if len(p) < 2 {
		return UserControl{}, fmt.Errorf("%w: user control", ErrShort)
	}
	uc := UserControl{Event: binary.BigEndian.Uint16(p)}
	if len(p) >= 6 {
		uc.Data = binary.BigEndian.Uint32(p[2:])
	}
	if len(p) >= 10 {
		uc.Data2 = binary.BigEndian.Uint32(p[6:])
	}
	return uc, nil
}

// AppendSetChunkSize appends a Set Chunk Size payload.
func AppendSetChunkSize(dst []byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, n&0x7FFFFFFF)
}

// AppendAbort appends an Abort Message payload.
func AppendAbort(dst []byte, csid uint32) []byte { return binary.BigEndian.AppendUint32(dst, csid) }

// AppendAck appends an Acknowledgement payload.
func AppendAck(dst []byte, n uint32) []byte { return binary.BigEndian.AppendUint32(dst, n) }

// AppendWindowAckSize appends a Window Acknowledgement Size payload.
func AppendWindowAckSize(dst []byte, n uint32) []byte { return binary.BigEndian.AppendUint32(dst, n) }

// AppendSetPeerBandwidth appends a Set Peer Bandwidth payload.
func AppendSetPeerBandwidth(dst []byte, n uint32, limitType uint8) []byte {
	return append(binary.BigEndian.AppendUint32(dst, n), limitType)
}

// AppendUserControl appends a User Control payload: the event, then the data words.
func AppendUserControl(dst []byte, event uint16, data ...uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, event)
	for _, d := range data {
		dst = binary.BigEndian.AppendUint32(dst, d)
	}
	return dst
}
