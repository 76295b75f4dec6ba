package trunk

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net"
)

// ServerHandshake runs the origin's side on a freshly accepted connection (wrapped in TLS by the
// caller if wanted): ServerHello, then the edge's Hello is checked, then HelloAck. On failure the
// edge is sent an Error frame saying why and the caller should close nc.
func ServerHandshake(nc net.Conn, cfg HandshakeConfig) (*Link, error) {
	cfg = cfg.withDefaults()
	h, err := newHandshakeIO(nc, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	nonce, err := newNonce()
	if err != nil {
		return nil, fmt.Errorf("trunk: nonce: %w", err)
	}
	sh := ServerHello{Magic: Magic, MinVersion: cfg.MinVersion, MaxVersion: cfg.MaxVersion,
		MaxFrame: uint32(cfg.MaxFrame), Nonce: nonce, ServerID: cfg.ID}
	if len(cfg.Secret) > 0 {
		sh.Flags |= FlagAuth
	}
	if err := h.send(sh); err != nil {
		return nil, err
	}
	f, err := h.expect(KindHello)
	if err != nil {
		return nil, h.tlsClientHello(err)
	}
	hello, err := DecodeHello(f.Body)
	if err == nil && hello.Magic != Magic {
		err = fmt.Errorf("magic %q", hello.Magic[:])
	}
	if err != nil {
		return nil, h.fail(CodeProtocol, fmt.Errorf("%w: bad hello: %w", ErrNotTrunk, err))
	}
	err = checkHello(cfg, sh, hello)
	if err != nil {
		err = fmt.Errorf("edge %q from %s: %w", hello.EdgeID, nc.RemoteAddr(), err)
	}
	if cfg.Judged != nil {
		cfg.Judged(err)
	}
	if err != nil {
		return nil, h.fail(codeOf(err), err)
	}
	ack := HelloAck{Version: hello.Version}
	if len(cfg.Secret) > 0 {
		ack.MAC = proof(cfg.Secret, "origin", hello.Version, hello.Nonce, nonce, hello.EdgeID, cfg.ID)
	}
	if err := h.send(ack); err != nil {
		return nil, err
	}
	return h.done(hello.Version, hello.EdgeID, cfg.MaxFrame, int(hello.MaxFrame))
}

// tlsClientHello recognises a TLS ClientHello where the edge's hello should be (its record
// header reads as a frame length far over the handshake limit): the edge has -trunk-tls and this
// origin has no certificate, which deserves a clearer log line than "frame too large".
func (h *handshakeIO) tlsClientHello(err error) error {
	if errors.Is(err, ErrFrameTooLarge) && h.rd.hdr[0] == tlsRecordHandshake && h.rd.hdr[1] == 3 {
		return fmt.Errorf("%w: the edge speaks TLS on the trunk but this origin has no -trunk-cert/-trunk-key", ErrTLS)
	}
	return err
}

func checkHello(cfg HandshakeConfig, sh ServerHello, hello Hello) error {
	if hello.Version < cfg.MinVersion || hello.Version > cfg.MaxVersion {
		return fmt.Errorf("%w: edge chose %d, origin speaks %d-%d", ErrVersion, hello.Version, cfg.MinVersion, cfg.MaxVersion)
	}
	if len(cfg.Secret) == 0 {
		return nil // no secret configured: any edge may connect (the origin warns off loopback)
	}
	if hello.Flags&FlagAuth == 0 {
		return fmt.Errorf("%w: origin requires a secret and the edge sent none", ErrAuth)
	}
	want := proof(cfg.Secret, "edge", hello.Version, sh.Nonce, hello.Nonce, hello.EdgeID, sh.ServerID)
	if !hmac.Equal(want[:], hello.MAC[:]) {
		return fmt.Errorf("%w: wrong secret", ErrAuth)
	}
	return nil
}

func codeOf(err error) uint16 {
	switch {
	case errors.Is(err, ErrAuth):
		return CodeAuth
	case errors.Is(err, ErrVersion):
		return CodeVersion
	}
	return CodeProtocol
}

// ClientHandshake runs the edge's side on a freshly dialled connection. With a secret configured
// the edge also insists that the origin proves it: an origin that does not ask for the secret is
// refused, so a man in the middle cannot downgrade the link to no authentication.
func ClientHandshake(nc net.Conn, cfg HandshakeConfig) (*Link, error) {
	cfg = cfg.withDefaults()
	h, err := newHandshakeIO(nc, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	f, err := h.expect(KindServerHello)
	if err != nil {
		return nil, err
	}
	sh, err := DecodeServerHello(f.Body)
	if err == nil && sh.Magic != Magic {
		err = fmt.Errorf("magic %q", sh.Magic[:])
	}
	if err != nil {
		return nil, h.fail(CodeProtocol, fmt.Errorf("%w: bad server hello: %w", ErrNotTrunk, err))
	}
	hello, err := buildHello(cfg, sh)
	if err != nil {
		return nil, h.fail(codeOf(err), fmt.Errorf("origin %q at %s: %w", sh.ServerID, nc.RemoteAddr(), err))
	}
	if err := h.send(hello); err != nil {
		return nil, err
	}
	if f, err = h.expect(KindHelloAck); err != nil {
		return nil, fmt.Errorf("origin %q: %w", sh.ServerID, err)
	}
	ack, err := DecodeHelloAck(f.Body)
	if err != nil || ack.Version != hello.Version {
		return nil, h.fail(CodeProtocol, fmt.Errorf("%w: bad hello ack (version %d): %v", ErrNotTrunk, ack.Version, err))
	}
	if len(cfg.Secret) > 0 {
		want := proof(cfg.Secret, "origin", hello.Version, hello.Nonce, sh.Nonce, cfg.ID, sh.ServerID)
		if !hmac.Equal(want[:], ack.MAC[:]) {
			return nil, h.fail(CodeAuth, fmt.Errorf("%w: origin %q did not prove the secret", ErrAuth, sh.ServerID))
		}
	}
	return h.done(hello.Version, sh.ServerID, cfg.MaxFrame, int(sh.MaxFrame))
}

func buildHello(cfg HandshakeConfig, sh ServerHello) (Hello, error) {
	v := min(cfg.MaxVersion, sh.MaxVersion)
	if v < cfg.MinVersion || v < sh.MinVersion {
		return Hello{}, fmt.Errorf("%w: edge speaks %d-%d, origin %d-%d", ErrVersion,
			cfg.MinVersion, cfg.MaxVersion, sh.MinVersion, sh.MaxVersion)
	}
	secret := len(cfg.Secret) > 0
	if sh.Flags&FlagAuth != 0 && !secret {
		return Hello{}, fmt.Errorf("%w: origin requires a secret and none is configured", ErrAuth)
	}
	if sh.Flags&FlagAuth == 0 && secret {
		return Hello{}, fmt.Errorf("%w: a secret is configured but the origin does not ask for it", ErrAuth)
	}
	nonce, err := newNonce()
	if err != nil {
		return Hello{}, fmt.Errorf("trunk: nonce: %w", err)
	}
	hello := Hello{Magic: Magic, Version: v, MaxFrame: uint32(cfg.MaxFrame), Nonce: nonce, EdgeID: cfg.ID}
	if secret {
		hello.Flags |= FlagAuth
		hello.MAC = proof(cfg.Secret, "edge", v, sh.Nonce, nonce, cfg.ID, sh.ServerID)
	}
	return hello, nil
}
