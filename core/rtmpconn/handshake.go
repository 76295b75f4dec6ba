package rtmpconn

import (
	"bytes"
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

// ErrRTMPE refuses encrypted RTMP (C0 = 6): we do not speak it, and say so instead of timing out.
var ErrRTMPE = errors.New("handshake: encrypted RTMP (RTMPE) is not supported")

// The keys of the digest (FP9) handshake: the 30-byte Flash Player key validates a client's C1
// digest, the 36-byte Media Server key signs ours; their long forms append the same 32 bytes.
var (
	keyTail       = []byte{0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE}
	playerKey     = []byte("Genuine Adobe Flash Player 001")
	serverKey     = []byte("Genuine Adobe Flash Media Server 001")
	serverKeyLong = append(append([]byte(nil), serverKey...), keyTail...)
)

// serverVersion goes in S1 when we answer a digest handshake: a version >= 3 makes ffmpeg (as a
// player) validate our S1 digest and S2, which are correct.
var serverVersion = [4]byte{4, 5, 0, 1}

// ServerHandshake runs the server side of the handshake. It reads C0+C1 itself: a C1 with a
// non-zero version and a valid digest at either position (Flash Player, ffmpeg) gets the digest
// answer; anything else gets the plain answer, through go-rtmp's handshake package. C2 is read
// and never verified (ffmpeg's would fail; SRS does the same).
func ServerHandshake(rw io.ReadWriter) error {
	c0c1 := make([]byte, 1+hsSize)
	if _, err := io.ReadFull(rw, c0c1); err != nil {
		return fmt.Errorf("reading C0/C1: %w", err)
	}
	switch c0c1[0] {
	case 3:
	case 6, 8:
		return ErrRTMPE
	default:
		return fmt.Errorf("handshake: unsupported RTMP version %d", c0c1[0])
	}
	c1 := c0c1[1:]
	if binary.BigEndian.Uint32(c1[4:8]) != 0 {
		if scheme, digest := findClientDigest(c1); digest != nil {
			return digestAnswer(rw, scheme, digest)
		}
	}
	r := io.MultiReader(bytes.NewReader(c0c1), rw)
	return handshake.HandshakeWithClient(r, rw, &handshake.Config{SkipHandshakeVerification: true})
}

// ClientHandshake runs the plain client side (our own client and the edge's dialer).
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
	return sum%728 + base + 4
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// findClientDigest validates C1's digest at both positions.
func findClientDigest(c1 []byte) (int, []byte) {
	for scheme := 0; scheme < 2; scheme++ {
		off := digestOffset(c1, scheme)
		want := hmacSHA256(playerKey, c1[:off], c1[off+32:])
		if hmac.Equal(want, c1[off:off+32]) {
			return scheme, c1[off : off+32]
		}
	}
	return 0, nil
}

func digestAnswer(rw io.ReadWriter, scheme int, clientDigest []byte) error {
	out := make([]byte, 1+2*hsSize)
	out[0] = 3
	s1 := out[1 : 1+hsSize]
	if _, err := rand.Read(s1[8:]); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(s1, uint32(time.Now().UnixMilli()))
	copy(s1[4:8], serverVersion[:])
	off := digestOffset(s1, scheme)
	copy(s1[off:], hmacSHA256(serverKey, s1[:off], s1[off+32:]))

	s2 := out[1+hsSize:]
	if _, err := rand.Read(s2[:hsSize-32]); err != nil {
		return err
	}
	key := hmacSHA256(serverKeyLong, clientDigest)
	copy(s2[hsSize-32:], hmacSHA256(key, s2[:hsSize-32]))
	if _, err := rw.Write(out); err != nil {
		return fmt.Errorf("writing S0/S1/S2: %w", err)
	}
	c2 := make([]byte, hsSize)
	if _, err := io.ReadFull(rw, c2); err != nil {
		return fmt.Errorf("reading C2: %w", err)
	}
	return nil
}
