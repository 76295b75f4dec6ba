// Package trunk is the edge↔origin link: one TCP connection per edge/origin pair that carries many
// client sessions (connect, calls, shared objects, publish and play verdicts) and the live streams
// the edge pulls once for all its viewers. docs/trunk.md is the protocol; this package is its codec,
// the authenticated hello exchange, and a Conn that multiplexes frames with two priorities, per-session
// credit and heartbeats.
//
// Ownership: Conn.Serve's goroutine owns the frame reader; one writer goroutine owns the socket's
// write side; producers hand it frames through a byte-bounded two-level queue guarded by its own
// lock. Per-session send credit is an atomic counter per session, so a sender never waits on another
// session's state.
package trunk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind is the first byte after a frame's length: it says how to read the body.
type Kind uint8

// Frame kinds. The values are part of the wire protocol (docs/trunk.md): never renumber them.
const (
	KindServerHello       Kind = 0x01 // origin → edge, first frame on the connection
	KindHello             Kind = 0x02 // edge → origin, answers ServerHello
	KindHelloAck          Kind = 0x03 // origin → edge, the link is up
	KindPing              Kind = 0x04
	KindPong              Kind = 0x05
	KindError             Kind = 0x06
	KindSessionOpen       Kind = 0x10 // edge → origin
	KindSessionVerdict    Kind = 0x11 // origin → edge
	KindSessionClose      Kind = 0x12 // either way
	KindSessionMessage    Kind = 0x13 // either way, credit-controlled
	KindSessionAck        Kind = 0x14 // either way, returns credit
	KindStreamVerdict     Kind = 0x15 // origin → edge, on a session: a NetStream's play/publish verdict or control
	KindStreamSubscribe   Kind = 0x20 // edge → origin
	KindStreamUnsubscribe Kind = 0x21 // edge → origin
	KindStreamStatus      Kind = 0x22 // either way
	KindStreamMedia       Kind = 0x23 // either way, on a subscribed or published channel
	KindStreamPublish     Kind = 0x24 // edge → origin
	KindStreamGap         Kind = 0x25 // edge → origin, in order with a publish channel's media
)

var kindNames = map[Kind]string{
	KindServerHello: "server-hello", KindHello: "hello", KindHelloAck: "hello-ack",
	KindPing: "ping", KindPong: "pong", KindError: "error",
	KindSessionOpen: "session-open", KindSessionVerdict: "session-verdict",
	KindSessionClose: "session-close", KindSessionMessage: "session-message",
	KindSessionAck: "session-ack", KindStreamSubscribe: "stream-subscribe",
	KindStreamUnsubscribe: "stream-unsubscribe", KindStreamStatus: "stream-status",
	KindStreamMedia: "stream-media", KindStreamPublish: "stream-publish",
	KindStreamVerdict: "stream-verdict",
	KindStreamGap:     "stream-gap",
}

// String names the kind for logs and errors.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind-0x%02x", uint8(k))
}

// Known reports whether k is a kind this version understands. Unknown kinds are skipped by
// receivers (forward compatibility), never fatal.
func (k Kind) Known() bool { _, ok := kindNames[k]; return ok }

const (
	// HeaderSize is the fixed part of a frame: u32 length, u8 kind, u32 id.
	HeaderSize = 9
	// DefaultMaxFrame bounds the bytes after the length field. It fits the largest RTMP message
	// (24-bit length) plus the per-kind fields, so any message a client can send fits in one frame.
	DefaultMaxFrame = 1<<24 + 1024
	// HandshakeMaxFrame bounds frames before authentication, so an unauthenticated peer can make
	// us allocate at most this much.
	HandshakeMaxFrame = 4096
	minFrameLen       = HeaderSize - 4
)

// Errors a caller may want to tell apart.
var (
	ErrFrameTooLarge = errors.New("trunk: frame too large")
	ErrFrameShort    = errors.New("trunk: frame shorter than its header")
	ErrBodyShort     = errors.New("trunk: frame body truncated")
)

// Frame is one decoded frame. Body aliases the reader's buffer: it is valid until the next
// ReadFrame; copy what must outlive it.
type Frame struct {
	Kind Kind
	ID   uint32 // session or channel id; 0 = the trunk itself
	Body []byte
}

// AppendHeader appends a frame header for a body of bodyLen bytes.
func AppendHeader(dst []byte, k Kind, id uint32, bodyLen int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(minFrameLen+bodyLen))
	dst = append(dst, byte(k))
	return binary.BigEndian.AppendUint32(dst, id)
}

// Message is a typed frame body.
type Message interface {
	Kind() Kind
	AppendBody(dst []byte) []byte
}

// AppendFrame appends m as a complete frame addressed to id.
func AppendFrame(dst []byte, id uint32, m Message) []byte {
	start := len(dst)
	dst = AppendHeader(dst, m.Kind(), id, 0)
	dst = m.AppendBody(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// appendSessionFrame is AppendFrame for the hot SessionMessage (a relayed call or answer):
// called on the concrete type, so the message does not escape to the heap.
func appendSessionFrame(dst []byte, id uint32, m SessionMessage) []byte {
	return m.AppendBody(AppendHeader(dst, KindSessionMessage, id, 9+len(m.Payload)))
}

// Reader decodes frames from a stream into one reused buffer: in steady state a frame costs no
// allocation.
type Reader struct {
	br       *bufio.Reader
	maxFrame int
	hdr      [HeaderSize]byte
	buf      []byte
	n        uint64
}

// NewReader reads frames from br, refusing any frame whose length exceeds maxFrame (bytes after
// the length field) before allocating for it. maxFrame <= 0 means DefaultMaxFrame.
func NewReader(br *bufio.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{br: br, maxFrame: maxFrame}
}

// SetMaxFrame changes the limit, e.g. from the handshake's small one to the link's.
func (r *Reader) SetMaxFrame(n int) { r.maxFrame = n }

// BytesRead counts the bytes of all complete frames read so far.
func (r *Reader) BytesRead() uint64 { return r.n }

// ReadFrame reads the next frame. The returned Body is valid until the next call. io.EOF is
// returned only at a frame boundary; a frame cut short is io.ErrUnexpectedEOF.
func (r *Reader) ReadFrame() (Frame, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return Frame{}, err
		}
		return Frame{}, fmt.Errorf("trunk: read frame header: %w", err)
	}
	n := int(binary.BigEndian.Uint32(r.hdr[:4]))
	if n < minFrameLen {
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrameShort, n)
	}
	if n > r.maxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, r.maxFrame)
	}
	bodyLen := n - minFrameLen
	if cap(r.buf) < bodyLen {
		r.buf = make([]byte, bodyLen, growTo(bodyLen))
	}
	body := r.buf[:bodyLen]
	if _, err := io.ReadFull(r.br, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("trunk: read frame body: %w", err)
	}
	r.n += uint64(4 + n)
	return Frame{Kind: Kind(r.hdr[4]), ID: binary.BigEndian.Uint32(r.hdr[5:]), Body: body}, nil
}

// growTo rounds a buffer size up so that slowly growing frames do not reallocate each time.
func growTo(n int) int {
	c := 4096
	for c < n {
		c *= 2
	}
	return c
}

// DecodeFrame decodes one complete frame from b (header included) and returns the bytes after it.
// It is the byte-slice twin of Reader.ReadFrame, used by tests and fuzzing.
func DecodeFrame(b []byte, maxFrame int) (Frame, []byte, error) {
	if len(b) < HeaderSize {
		return Frame{}, nil, ErrBodyShort
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < minFrameLen {
		return Frame{}, nil, fmt.Errorf("%w: length %d", ErrFrameShort, n)
	}
	if n > maxFrame {
		return Frame{}, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, maxFrame)
	}
	if len(b)-4 < n {
		return Frame{}, nil, ErrBodyShort
	}
	f := Frame{Kind: Kind(b[4]), ID: binary.BigEndian.Uint32(b[5:]), Body: b[HeaderSize : 4+n]}
	return f, b[4+n:], nil
}
