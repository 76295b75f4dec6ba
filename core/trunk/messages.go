package trunk

import "encoding/binary"

// Ping asks the peer for a Pong; both keep an idle trunk's liveness visible and measure RTT.
type Ping struct{ Time uint64 } // sender's clock, nanoseconds; echoed unchanged

// Pong echoes a Ping's time.
type Pong struct{ Time uint64 }

// Error codes carried by ErrorMsg and SessionClose.
const (
	CodeNormal        uint16 = 0  // orderly close
	CodeProtocol      uint16 = 1  // malformed or unexpected frame
	CodeAuth          uint16 = 2  // handshake authentication failed
	CodeVersion       uint16 = 3  // no common protocol version
	CodeOverflow      uint16 = 4  // a session exceeded its credit / inbound queue
	CodeShutdown      uint16 = 5  // the sender is going away
	CodeClientGone    uint16 = 6  // the edge's client disconnected
	CodeRejected      uint16 = 7  // the app rejected the session
	CodeUnknownTarget uint16 = 8  // no such session or channel
	CodeTimeout       uint16 = 9  // handshake or heartbeat timeout
	CodeTLS           uint16 = 10 // one side speaks TLS on the trunk and the other does not
	CodeInternal      uint16 = 11 // the sender's handler of this session or channel failed
)

// ErrorMsg reports a failure. On id 0 it is fatal to the trunk and the sender closes right after;
// on a session or channel id it concerns only that target.
type ErrorMsg struct {
	Code    uint16
	Message string
}

// SessionOpen carries an edge client's connect to the origin. Command and Args are AMF0 exactly as
// the client sent them (the connect command object, then its extra arguments), so the origin
// decodes them with its own limits and the app sees what the client sent. The address, agent,
// referrer and page URL are the real client's, never the edge's.
type SessionOpen struct {
	Window     uint32 // bytes of session messages the edge will buffer toward this client
	EdgeID     string
	ClientAddr string // "ip:port" of the real client
	Protocol   string // "rtmp", "rtmps", ...
	Agent      string // flashVer
	Referrer   string // swfUrl
	PageURL    string
	Command    []byte // AMF0 connect command object
	Args       []byte // AMF0 values following it, concatenated
}

// Verdict values.
const (
	VerdictReject uint8 = 0
	VerdictAccept uint8 = 1
)

// Verdict flags: how the edge must finish an accepted connect so that its client sees what a
// direct client of the same app sees. Zero is the default behaviour.
const (
	VerdictNoBWDone uint8 = 1 << 0 // app.json "sendBWDone": false — no onBWDone call after connect
)

// SessionVerdict is the app's answer to SessionOpen.
type SessionVerdict struct {
	Window uint32 // bytes of session messages the origin will buffer from this session
	Status uint8  // VerdictAccept or VerdictReject
	Flags  uint8  // Verdict* flags
	Info   []byte // AMF0 info object for _result/_error
}

// SessionClose ends a session from either side; no frame for the id follows it.
type SessionClose struct {
	Code   uint16
	Reason string
}

// SessionMessage is one RTMP message of a session other than media: a command, data or
// shared-object message, with the RTMP type id (15-20) and message stream id it had or must get.
type SessionMessage struct {
	Type      uint8
	StreamID  uint32
	Timestamp uint32
	Payload   []byte
}

// SessionAck returns Bytes of send credit to the peer for a session.
type SessionAck struct{ Bytes uint32 }

// StreamSubscribe asks the origin for a live stream on a channel id chosen by the edge.
type StreamSubscribe struct {
	App    string // "app/instance"
	Stream string
}

// StreamUnsubscribe ends a channel's subscription; its body is empty.
type StreamUnsubscribe struct{}

// Stream status codes.
const (
	StreamOK          uint16 = 0 // subscribed or publish accepted
	StreamNotFound    uint16 = 1
	StreamUnpublished uint16 = 2 // the publisher left; the channel stays subscribed
	StreamPublished   uint16 = 3 // a publisher (re)started
	StreamRejected    uint16 = 4
	StreamEnded       uint16 = 5 // the channel is gone; its id may be reused
)

// StreamStatus reports on a channel.
type StreamStatus struct {
	Code        uint16
	Description string
}

// StreamMedia is one media message on a channel: audio (8), video (9) or data (18).
type StreamMedia struct {
	Type      uint8
	Timestamp uint32
	Payload   []byte
}

// StreamPublish opens a channel carrying an edge client's publish to the origin, after the app
// accepted the publish command sent as a SessionMessage.
type StreamPublish struct {
	Session  uint32
	StreamID uint32 // the client's RTMP message stream id
	App      string
	Stream   string
	Mode     string // "live", "record", "append"
}

// StreamGap says that the sender dropped media of a channel here (its media queue was full):
// the message after it is not the one after the last message received. The receiver's players
// resume at the next video keyframe instead of decoding frames whose references are missing.
// It travels in the media queue, in order with the channel's media. A peer that does not know
// the kind skips it (unknown kinds are skipped), so it needs no new protocol version.
type StreamGap struct {
	Dropped uint32 // messages dropped since the last one sent on the channel (saturating)
}

func (Ping) Kind() Kind              { return KindPing }
func (Pong) Kind() Kind              { return KindPong }
func (ErrorMsg) Kind() Kind          { return KindError }
func (SessionOpen) Kind() Kind       { return KindSessionOpen }
func (SessionVerdict) Kind() Kind    { return KindSessionVerdict }
func (SessionClose) Kind() Kind      { return KindSessionClose }
func (SessionMessage) Kind() Kind    { return KindSessionMessage }
func (SessionAck) Kind() Kind        { return KindSessionAck }
func (StreamSubscribe) Kind() Kind   { return KindStreamSubscribe }
func (StreamUnsubscribe) Kind() Kind { return KindStreamUnsubscribe }
func (StreamStatus) Kind() Kind      { return KindStreamStatus }
func (StreamMedia) Kind() Kind       { return KindStreamMedia }
func (StreamPublish) Kind() Kind     { return KindStreamPublish }
func (StreamGap) Kind() Kind         { return KindStreamGap }

func (m Ping) AppendBody(dst []byte) []byte { return binary.BigEndian.AppendUint64(dst, m.Time) }
func (m Pong) AppendBody(dst []byte) []byte { return binary.BigEndian.AppendUint64(dst, m.Time) }

func (m ErrorMsg) AppendBody(dst []byte) []byte {
	return appendStr(binary.BigEndian.AppendUint16(dst, m.Code), m.Message)
}

func (m SessionOpen) AppendBody(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.Window)
	for _, s := range [...]string{m.EdgeID, m.ClientAddr, m.Protocol, m.Agent, m.Referrer, m.PageURL} {
		dst = appendStr(dst, s)
	}
	dst = appendBlob(dst, m.Command)
	return append(dst, m.Args...)
}

func (m SessionVerdict) AppendBody(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.Window)
	return append(append(dst, m.Status, m.Flags), m.Info...)
}

func (m SessionClose) AppendBody(dst []byte) []byte {
	return appendStr(binary.BigEndian.AppendUint16(dst, m.Code), m.Reason)
}

func (m SessionMessage) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Type)
	dst = binary.BigEndian.AppendUint32(dst, m.StreamID)
	dst = binary.BigEndian.AppendUint32(dst, m.Timestamp)
	return append(dst, m.Payload...)
}

func (m SessionAck) AppendBody(dst []byte) []byte { return binary.BigEndian.AppendUint32(dst, m.Bytes) }

func (m StreamSubscribe) AppendBody(dst []byte) []byte {
	return appendStr(appendStr(dst, m.App), m.Stream)
}

func (StreamUnsubscribe) AppendBody(dst []byte) []byte { return dst }

func (m StreamStatus) AppendBody(dst []byte) []byte {
	return appendStr(binary.BigEndian.AppendUint16(dst, m.Code), m.Description)
}

func (m StreamMedia) AppendBody(dst []byte) []byte {
	return append(appendMediaFields(dst, m), m.Payload...)
}

// AppendMediaFrame appends a complete StreamMedia frame without going through the Message
// interface (no allocation on the media path).
func AppendMediaFrame(dst []byte, id uint32, m StreamMedia) []byte {
	dst = AppendHeader(dst, KindStreamMedia, id, 5+len(m.Payload))
	return append(appendMediaFields(dst, m), m.Payload...)
}

func appendMediaFields(dst []byte, m StreamMedia) []byte {
	return binary.BigEndian.AppendUint32(append(dst, m.Type), m.Timestamp)
}

func (m StreamGap) AppendBody(dst []byte) []byte {
	return binary.BigEndian.AppendUint32(dst, m.Dropped)
}

func (m StreamPublish) AppendBody(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.Session)
	dst = binary.BigEndian.AppendUint32(dst, m.StreamID)
	return appendStr(appendStr(appendStr(dst, m.App), m.Stream), m.Mode)
}
