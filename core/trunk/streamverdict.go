package trunk

import (
	"encoding/binary"
	"fmt"
)

// StreamOp says what a StreamVerdict tells the edge to do for one of its client's NetStreams.
type StreamOp uint8

// The stream operations (version 3). The origin's session decides; the edge only performs the
// step that needs the client's connection or the edge's own hub, then writes Messages.
const (
	// OpPlayStart: the app accepted a play of Stream. The edge sends StreamBegin, writes
	// Messages (Play.Reset, Play.Start, the play-start data messages), then attaches the client
	// to its local hub (subscribing on the trunk on first use), all before any media.
	OpPlayStart StreamOp = 1
	// OpPlayStop: the play ended (closeStream, deleteStream, a new play). The edge detaches the
	// client, sends StreamEOF, then writes Messages (Play.Stop); without Messages (a recorded
	// play that had sent its own end) it only detaches.
	OpPlayStop StreamOp = 2
	// OpPublishStart: the app accepted a publish of Stream. The edge opens the publish channel
	// (StreamPublish), sends StreamBegin, then writes Messages (Publish.Start).
	OpPublishStart StreamOp = 3
	// OpPublishStop: the publish ended. The edge stops sending on its channel, then writes
	// Messages (Unpublish.Success).
	OpPublishStop StreamOp = 4
	// OpPause, OpReceiveAudio, OpReceiveVideo apply Flags&StreamFlagOn to the client's local play;
	// the status (Pause.Notify ...) follows as an ordinary session message.
	OpPause        StreamOp = 5
	OpReceiveAudio StreamOp = 6
	OpReceiveVideo StreamOp = 7
)

// Stream verdict flags.
const (
	StreamFlagReset uint8 = 1 << 0 // OpPlayStart: the play asked for a reset (Play.Reset is in Messages)
	StreamFlagOn    uint8 = 1 << 0 // OpPause, OpReceiveAudio, OpReceiveVideo: on
	// StreamFlagRecorded (OpPlayStart): a recorded play, served by the origin's session: the
	// edge sends StreamIsRecorded before StreamBegin, attaches nothing to its hub, and writes the
	// play's media, data and user control messages that follow as session messages on the
	// NetStream.
	StreamFlagRecorded uint8 = 1 << 1
)

// MaxStreamVerdictMessages bounds the messages one StreamVerdict carries.
const MaxStreamVerdictMessages = 8

// StreamVerdict is the origin session's typed decision about a NetStream of an edge client, so
// that the edge never reads a status to learn what happened. Messages are complete RTMP messages
// for the client (type and payload, encoded in its object encoding), written as they are.
type StreamVerdict struct {
	StreamID uint32
	Op       StreamOp
	Flags    uint8
	Stream   string
	Messages []VerdictMessage
}

// VerdictMessage is one message a StreamVerdict has the edge write to its client.
type VerdictMessage struct {
	Type    uint8
	Payload []byte
}

// Kind implements Message.
func (StreamVerdict) Kind() Kind { return KindStreamVerdict }

// AppendBody implements Message: stream id u32, op u8, flags u8, stream str, count u8, then per
// message type u8 and payload (u32 length).
func (m StreamVerdict) AppendBody(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.StreamID)
	dst = append(dst, byte(m.Op), m.Flags)
	dst = appendStr(dst, m.Stream)
	msgs := m.Messages[:min(len(m.Messages), MaxStreamVerdictMessages)]
	dst = append(dst, byte(len(msgs)))
	for _, v := range msgs {
		dst = appendBlob(append(dst, v.Type), v.Payload)
	}
	return dst
}

// DecodeStreamVerdict decodes a StreamVerdict body; the payloads alias the frame body.
func DecodeStreamVerdict(b []byte) (StreamVerdict, error) {
	r := body{b: b, kind: KindStreamVerdict}
	m := StreamVerdict{StreamID: r.u32("stream id"), Op: StreamOp(r.u8("op")), Flags: r.u8("flags"), Stream: r.str("stream")}
	n := int(r.u8("message count"))
	if r.err == nil && n > MaxStreamVerdictMessages {
		return m, fmt.Errorf("trunk: %s: %d messages, at most %d", KindStreamVerdict, n, MaxStreamVerdictMessages)
	}
	if r.err == nil && (m.Op < OpPlayStart || m.Op > OpReceiveVideo) {
		return m, fmt.Errorf("trunk: %s: unknown op %d", KindStreamVerdict, m.Op)
	}
	for i := 0; i < n && r.err == nil; i++ {
		t := r.u8("message type")
		p := r.blob("message payload")
		m.Messages = append(m.Messages, VerdictMessage{Type: t, Payload: p})
	}
	return m, r.end()
}
