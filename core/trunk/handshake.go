package trunk

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// ProtocolVersion is the trunk protocol version this package speaks; MinProtocolVersion the
// oldest it still accepts. Version 3 changed what a session means (typed stream verdicts: the
// edge no longer reads statuses), so an older peer is refused with CodeVersion.
const (
	ProtocolVersion    uint16 = 3
	MinProtocolVersion uint16 = 3
)

// Magic opens ServerHello and Hello so that a wrong peer (an RTMP client on the trunk port, an
// HTTP probe) is told apart from a broken one at once.
var Magic = [4]byte{'F', 'M', 'T', 'K'}

// FlagAuth in ServerHello: the origin requires the shared secret. In Hello: MAC is present.
const FlagAuth uint8 = 1

const nonceSize, macSize = 32, sha256.Size

// Handshake errors; the returned errors wrap one of these.
var (
	ErrAuth             = errors.New("trunk: authentication failed")
	ErrVersion          = errors.New("trunk: no common protocol version")
	ErrHandshakeTimeout = errors.New("trunk: handshake timed out")
	ErrNotTrunk         = errors.New("trunk: peer does not speak the trunk protocol")
	ErrPeer             = errors.New("trunk: peer reported an error")
	ErrTLS              = errors.New("trunk: TLS mismatch")
)

// ServerHello is the origin's first frame: its versions, whether it wants the secret, and the
// nonce the edge's proof must cover.
type ServerHello struct {
	Magic      [4]byte
	MinVersion uint16
	MaxVersion uint16
	Flags      uint8
	MaxFrame   uint32
	Nonce      [nonceSize]byte
	ServerID   string
}

// Hello is the edge's answer: the version it picked, its id and nonce, and its proof.
type Hello struct {
	Magic    [4]byte
	Version  uint16
	Flags    uint8
	MaxFrame uint32
	Nonce    [nonceSize]byte
	EdgeID   string
	MAC      [macSize]byte // zero when Flags lacks FlagAuth
}

// HelloAck completes the exchange; MAC proves the origin knows the secret too.
type HelloAck struct {
	Version uint16
	MAC     [macSize]byte
}

func (ServerHello) Kind() Kind { return KindServerHello }
func (Hello) Kind() Kind       { return KindHello }
func (HelloAck) Kind() Kind    { return KindHelloAck }

func (m ServerHello) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Magic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, m.MinVersion)
	dst = binary.BigEndian.AppendUint16(dst, m.MaxVersion)
	dst = binary.BigEndian.AppendUint32(append(dst, m.Flags), m.MaxFrame)
	return appendStr(append(dst, m.Nonce[:]...), m.ServerID)
}

func (m Hello) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Magic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, m.Version)
	dst = binary.BigEndian.AppendUint32(append(dst, m.Flags), m.MaxFrame)
	dst = appendStr(append(dst, m.Nonce[:]...), m.EdgeID)
	return append(dst, m.MAC[:]...)
}

func (m HelloAck) AppendBody(dst []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, m.Version), m.MAC[:]...)
}

// DecodeServerHello decodes a ServerHello body.
func DecodeServerHello(b []byte) (ServerHello, error) {
	r := body{b: b, kind: KindServerHello}
	var m ServerHello
	r.fixed(m.Magic[:], "magic")
	m.MinVersion, m.MaxVersion = r.u16("min version"), r.u16("max version")
	m.Flags, m.MaxFrame = r.u8("flags"), r.u32("max frame")
	r.fixed(m.Nonce[:], "nonce")
	m.ServerID = r.str("server id")
	return m, r.end()
}

// DecodeHello decodes a Hello body.
func DecodeHello(b []byte) (Hello, error) {
	r := body{b: b, kind: KindHello}
	var m Hello
	r.fixed(m.Magic[:], "magic")
	m.Version, m.Flags, m.MaxFrame = r.u16("version"), r.u8("flags"), r.u32("max frame")
	r.fixed(m.Nonce[:], "nonce")
	m.EdgeID = r.str("edge id")
	r.fixed(m.MAC[:], "mac")
	return m, r.end()
}

// DecodeHelloAck decodes a HelloAck body.
func DecodeHelloAck(b []byte) (HelloAck, error) {
	r := body{b: b, kind: KindHelloAck}
	m := HelloAck{Version: r.u16("version")}
	r.fixed(m.MAC[:], "mac")
	return m, r.end()
}

// HandshakeConfig is one side's identity and policy.
type HandshakeConfig struct {
	ID         string        // edge id or origin id, for the peer's logs and the app's client.edge
	Secret     []byte        // shared secret; empty = none
	Timeout    time.Duration // whole exchange; 0 = 10 s
	MaxFrame   int           // largest frame we accept after the handshake; 0 = DefaultMaxFrame
	MinVersion uint16        // 0 = MinProtocolVersion (tests override these)
	MaxVersion uint16        // 0 = ProtocolVersion
	// Judged, if set, is called on the origin side with the verdict on the edge's hello (nil:
	// authenticated) before the answer is written, so that whatever the peer does once it reads
	// the answer (a retry) already meets the verdict's effects (a failure count, a lockout).
	Judged func(verdict error)
}

func (c HandshakeConfig) withDefaults() HandshakeConfig {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.MinVersion == 0 {
		c.MinVersion = MinProtocolVersion
	}
	if c.MaxVersion == 0 {
		c.MaxVersion = ProtocolVersion
	}
	return c
}

// Link is an authenticated trunk connection, ready for NewConn. Reader must be used for all
// further reads: it may already hold frames the peer sent right after the handshake.
type Link struct {
	NetConn       net.Conn
	Reader        *bufio.Reader
	Version       uint16
	PeerID        string
	PeerMaxFrame  int // never send a frame larger than this
	LocalMaxFrame int // frames larger than this are refused
}

// proof is the HMAC one side sends: the role label keeps an edge proof from being replayed as an
// origin proof, the two nonces make it fresh for this connection, and the ids and version bind it
// to what was negotiated.
func proof(secret []byte, role string, version uint16, first, second [nonceSize]byte, edgeID, serverID string) [macSize]byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("fmsgo-trunk " + role))
	h.Write(binary.BigEndian.AppendUint16(nil, version))
	h.Write(first[:])
	h.Write(second[:])
	h.Write(appendStr(appendStr(nil, edgeID), serverID))
	var out [macSize]byte
	h.Sum(out[:0])
	return out
}

func newNonce() ([nonceSize]byte, error) {
	var n [nonceSize]byte
	_, err := rand.Read(n[:])
	return n, err
}

// handshakeIO is the shared plumbing of both sides: small frames, one deadline.
type handshakeIO struct {
	nc  net.Conn
	br  *bufio.Reader
	rd  *Reader
	buf []byte
}

func newHandshakeIO(nc net.Conn, timeout time.Duration) (*handshakeIO, error) {
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("trunk: set handshake deadline: %w", err)
	}
	br := bufio.NewReaderSize(nc, handshakeBufSize)
	return &handshakeIO{nc: nc, br: br, rd: NewReader(br, HandshakeMaxFrame)}, nil
}

func (h *handshakeIO) send(m Message) error {
	h.buf = AppendFrame(h.buf[:0], 0, m)
	if _, err := h.nc.Write(h.buf); err != nil {
		return wrapTimeout(fmt.Errorf("trunk: send %s: %w", m.Kind(), err))
	}
	return nil
}

// fail tells the peer why before returning err; the peer may already be gone, so a failed send
// is ignored.
func (h *handshakeIO) fail(code uint16, err error) error {
	_ = h.send(ErrorMsg{Code: code, Message: err.Error()})
	return err
}

// expect reads the next frame, which must be of kind want; an Error frame becomes ErrPeer (or
// ErrAuth/ErrVersion when that is what the peer says).
func (h *handshakeIO) expect(want Kind) (Frame, error) {
	f, err := h.rd.ReadFrame()
	if err != nil {
		return f, wrapTimeout(fmt.Errorf("trunk: waiting for %s: %w", want, err))
	}
	if f.Kind == KindError {
		m, derr := DecodeError(f.Body)
		if derr != nil {
			return f, fmt.Errorf("%w: %w", ErrNotTrunk, derr)
		}
		return f, fmt.Errorf("%w: %s (code %d)", peerErrorKind(m.Code), m.Message, m.Code)
	}
	if f.Kind != want {
		return f, fmt.Errorf("%w: got %s, want %s", ErrNotTrunk, f.Kind, want)
	}
	return f, nil
}

func (h *handshakeIO) done(version uint16, peerID string, local, peerMax int) (*Link, error) {
	if err := h.nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("trunk: clear handshake deadline: %w", err)
	}
	if peerMax <= 0 || peerMax > DefaultMaxFrame {
		peerMax = DefaultMaxFrame
	}
	return &Link{NetConn: h.nc, Reader: h.linkReader(), Version: version, PeerID: peerID,
		PeerMaxFrame: peerMax, LocalMaxFrame: local}, nil
}

// Read buffers: the handshake reads three small frames through a small buffer, so a socket
// that never authenticates costs a few KiB; the link's large buffer exists only after the
// peer proved itself.
const (
	handshakeBufSize = 512
	linkBufSize      = 64 << 10
)

// linkReader is the authenticated link's reader: it yields first what the handshake's small
// buffer already holds (the peer may send right after the hello-ack), then the connection.
func (h *handshakeIO) linkReader() *bufio.Reader {
	n := h.br.Buffered()
	if n == 0 {
		return bufio.NewReaderSize(h.nc, linkBufSize)
	}
	rest, _ := h.br.Peek(n)
	return bufio.NewReaderSize(&prefixReader{pre: append([]byte(nil), rest...), r: h.nc}, linkBufSize)
}

// prefixReader reads pre, then r.
type prefixReader struct {
	pre []byte
	r   io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pre) == 0 {
		return p.r.Read(b)
	}
	n := copy(b, p.pre)
	p.pre = p.pre[n:]
	return n, nil
}

func peerErrorKind(code uint16) error {
	switch code {
	case CodeAuth:
		return ErrAuth
	case CodeVersion:
		return ErrVersion
	case CodeTLS:
		return ErrTLS
	}
	return ErrPeer
}

func wrapTimeout(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrHandshakeTimeout, err)
	}
	return err
}
