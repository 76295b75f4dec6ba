package rtmpconn

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
)

// Handshake sizes: C0/S0 one byte, C1/S1 and C2/S2 1536.
const hsSize = 1536

// Digest layout: 32-byte HMAC-SHA256 digests; S2's signed part is all but its last 32 bytes.
const (
	digestLen    = 32
	digestModulo = 728
)

// ErrRTMPE refuses encrypted RTMP (C0 = 6, or 8 for the XTEA variant): we do not speak it, and
// say so at once instead of letting the client time out. Callers wrap it with "handshake: ".
var ErrRTMPE = errors.New("encrypted RTMP (RTMPE) is not supported")

// The keys of the digest (FP9) handshake: the 30-byte Flash Player key validates a client's C1
// digest, the 36-byte Media Server key signs ours; the long server form appends 32 fixed bytes
// and keys S2's signature. Checked against ffmpeg libavformat/rtmpproto.c (rtmp_player_key,
// rtmp_server_key, PLAYER_KEY_OPEN_PART_LEN 30, SERVER_KEY_OPEN_PART_LEN 36).
var (
	keyTail = []byte{0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02,
		0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36,
		0xCF, 0xEB, 0x31, 0xAE}
	playerKey     = []byte("Genuine Adobe Flash Player 001")
	serverKey     = []byte("Genuine Adobe Flash Media Server 001")
	serverKeyLong = append(append([]byte(nil), serverKey...), keyTail...)
)

// serverVersion goes in S1 when we answer a digest handshake: a first byte >= 3 makes ffmpeg (as
// a player) validate our S1 digest and S2 signature, which are correct.
var serverVersion = [4]byte{4, 5, 0, 1}

// ServerHandshake runs the server side of the handshake; the caller bounds it with a deadline on
// the connection. It reads C0+C1 itself: a C1 with a non-zero version and a valid digest at either
// position (Flash Player, ffmpeg) gets the digest answer; anything else (librtmp, go-rtmp, a C1
// whose digest does not validate) gets the plain answer. C2 is read and never verified (SRS does
// the same: ffmpeg's C2 would not pass).
func ServerHandshake(rw io.ReadWriter) error {
	var c0c1 [1 + hsSize]byte
	if _, err := io.ReadFull(rw, c0c1[:]); err != nil {
		return fmt.Errorf("reading C0/C1: %w", err)
	}
	var out [1 + 2*hsSize]byte
	if err := answerC0C1(out[:], c0c1[:], rand.Reader); err != nil {
		return err
	}
	if _, err := rw.Write(out[:]); err != nil {
		return fmt.Errorf("writing S0/S1/S2: %w", err)
	}
	var c2 [hsSize]byte
	if _, err := io.ReadFull(rw, c2[:]); err != nil {
		return fmt.Errorf("reading C2: %w", err)
	}
	return nil
}

// serverHandshakeBuffered is ServerHandshake reading through br, as a connection does: C0+C1 is
// answered where it lies in br's buffer and C2 is skipped there, so the only memory a handshake
// needs is out (1+2×1536 bytes, the answer). br must hold at least C0+C1 (1537 bytes). S1's
// random bytes come from random.
func serverHandshakeBuffered(br *bufio.Reader, w io.Writer, out []byte, random io.Reader) error {
	c0c1, err := br.Peek(1 + hsSize)
	if err != nil {
		if errors.Is(err, io.EOF) && len(c0c1) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading C0/C1: %w", err)
	}
	if err := answerC0C1(out, c0c1, random); err != nil {
		return err
	}
	_, _ = br.Discard(1 + hsSize) // buffered: cannot fail
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("writing S0/S1/S2: %w", err)
	}
	if n, err := br.Discard(hsSize); err != nil {
		if errors.Is(err, io.EOF) && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading C2: %w", err)
	}
	return nil
}

// answerC0C1 checks C0 and fills out (S0+S1+S2, 1+2×1536 bytes) with the answer to C1.
func answerC0C1(out, c0c1 []byte, random io.Reader) error {
	switch c0c1[0] {
	case 3:
	case 6, 8:
		return ErrRTMPE
	default:
		return fmt.Errorf("unsupported RTMP version %d in C0", c0c1[0])
	}
	out[0] = 3
	return answerC1(out[1:], c0c1[1:], random)
}

// answerC1 fills s1s2 (2×1536 bytes) with the answer C1 calls for.
func answerC1(s1s2, c1 []byte, random io.Reader) error {
	if binary.BigEndian.Uint32(c1[4:8]) != 0 {
		if scheme, digest := findClientDigest(c1); digest != nil {
			return digestAnswer(s1s2, scheme, digest, random)
		}
	}
	return plainAnswer(s1s2, c1, random)
}

// plainAnswer writes S1 (time, zero version, random) and S2 = an exact echo of C1. We write it
// ourselves rather than through go-rtmp's HandshakeWithClient: one write for S0+S1+S2 instead of
// seven, and an exact echo (go-rtmp rewrites bytes 4..7 of S2, which makes librtmp log "client
// signature does not match").
func plainAnswer(s1s2, c1 []byte, random io.Reader) error {
	s1 := s1s2[:hsSize]
	binary.BigEndian.PutUint32(s1, uint32(time.Now().UnixMilli()))
	clear(s1[4:8])
	if _, err := io.ReadFull(random, s1[8:]); err != nil {
		return fmt.Errorf("random S1: %w", err)
	}
	copy(s1s2[hsSize:], c1)
	return nil
}

// digestAnswer writes S1 with our digest in the client's layout and S2 signed with a key derived
// from the client's digest, as PROTOCOL.md "Handshake" (and ffmpeg's rtmp_handshake) describe.
func digestAnswer(s1s2 []byte, scheme int, clientDigest []byte, random io.Reader) error {
	s1, s2 := s1s2[:hsSize], s1s2[hsSize:]
	if _, err := io.ReadFull(random, s1[8:]); err != nil {
		return fmt.Errorf("random S1: %w", err)
	}
	binary.BigEndian.PutUint32(s1, uint32(time.Now().UnixMilli()))
	copy(s1[4:8], serverVersion[:])
	off := digestOffset(s1, scheme)
	copy(s1[off:], hmacSHA256(serverKey, s1[:off], s1[off+digestLen:]))

	signed := s2[:hsSize-digestLen]
	if _, err := io.ReadFull(random, signed); err != nil {
		return fmt.Errorf("random S2: %w", err)
	}
	key := hmacSHA256(serverKeyLong, clientDigest)
	copy(s2[hsSize-digestLen:], hmacSHA256(key, signed))
	return nil
}

// ClientHandshake runs the plain client side (our own client and the edge's dialer) through
// go-rtmp's handshake package; S2 is not verified, as no server needs us to.
func ClientHandshake(rw io.ReadWriter) error {
	return handshake.HandshakeWithServer(rw, rw, &handshake.Config{SkipHandshakeVerification: true})
}

// digestOffset returns where the 32-byte digest sits in a 1536-byte C1/S1 for a scheme: 0 puts
// it in the first half (offset from the sum of bytes 8..11), 1 in the second (bytes 772..775).
func digestOffset(b []byte, scheme int) int {
	base := 8
	if scheme == 1 {
		base = 772
	}
	sum := int(b[base]) + int(b[base+1]) + int(b[base+2]) + int(b[base+3])
	return sum%digestModulo + base + 4
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// findClientDigest validates C1's digest at both positions and returns the scheme and digest
// that matched, or a nil digest.
func findClientDigest(c1 []byte) (int, []byte) {
	for scheme := range 2 {
		off := digestOffset(c1, scheme)
		want := hmacSHA256(playerKey, c1[:off], c1[off+digestLen:])
		if hmac.Equal(want, c1[off:off+digestLen]) {
			return scheme, c1[off : off+digestLen]
		}
	}
	return 0, nil
}
