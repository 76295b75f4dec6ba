package trunk

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS ClientHello record.
const tlsRecordHandshake = 0x16

// ServerTLSConfig loads the origin's trunk certificate (-trunk-cert, -trunk-key). TLS 1.2 is the
// floor: older versions have known weaknesses and every client we care about speaks 1.2.
func ServerTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("trunk: TLS needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("trunk: load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ClientTLSConfig is the edge's side (-trunk-tls): the origin's certificate is verified against
// caFile (a PEM bundle; empty = the system roots) for the host of addr, so an IP address needs an
// IP SAN in the certificate.
func ClientTLSConfig(caFile, addr string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("trunk: origin address %q: %w", addr, err)
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// ClientTLS runs the edge's TLS handshake on a dialled connection before the trunk handshake. An
// origin without TLS speaks first in plain trunk frames, which TLS reports as a bad record
// header: that becomes an ErrTLS error that says what to change.
func ClientTLS(ctx context.Context, nc net.Conn, cfg *tls.Config) (net.Conn, error) {
	tc := tls.Client(nc, cfg)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, nil
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return nil, fmt.Errorf("%w: the origin does not speak TLS on the trunk (no -trunk-cert/-trunk-key there, or drop -trunk-tls here): %w", ErrTLS, err)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return nil, fmt.Errorf("%w: the origin's certificate is not trusted (see -trunk-ca): %w", ErrTLS, err)
	}
	return nil, fmt.Errorf("trunk: TLS handshake: %w", err)
}

// ServerTLS runs the origin's TLS handshake on an accepted connection. A TLS edge sends its
// ClientHello at once; an edge without TLS waits for our server hello instead, so silence for
// sniff means a plain edge: it is sent an Error frame (CodeTLS) it can log, instead of both sides
// waiting for the handshake timeout.
func ServerTLS(ctx context.Context, nc net.Conn, cfg *tls.Config, sniff time.Duration) (net.Conn, error) {
	if err := nc.SetReadDeadline(time.Now().Add(sniff)); err != nil {
		return nil, fmt.Errorf("trunk: set TLS deadline: %w", err)
	}
	br := bufio.NewReader(nc)
	first, err := br.Peek(1)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			msg := "this origin requires TLS on the trunk: start the edge with -trunk-tls"
			_ = nc.SetWriteDeadline(time.Now().Add(sniff))
			_, _ = nc.Write(AppendFrame(nil, 0, ErrorMsg{Code: CodeTLS, Message: msg}))
			return nil, fmt.Errorf("%w: the edge does not speak TLS on the trunk (it needs -trunk-tls)", ErrTLS)
		}
		return nil, fmt.Errorf("trunk: waiting for the TLS hello: %w", err)
	}
	if first[0] != tlsRecordHandshake {
		return nil, fmt.Errorf("%w: the peer sent %#x, not a TLS hello", ErrTLS, first[0])
	}
	_ = nc.SetReadDeadline(time.Time{})
	tc := tls.Server(&peekedConn{Conn: nc, r: br}, cfg)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("trunk: TLS handshake: %w", err)
	}
	return tc, nil
}

// peekedConn reads through the reader that sniffed the first byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// RequireClientCerts makes the origin's trunk TLS demand a certificate from every edge, signed by
// a CA of caFile (-trunk-client-ca): an edge is then authenticated by TLS before it sends a byte
// of the trunk protocol, which lets a trunk beyond loopback run without a shared secret.
func RequireClientCerts(cfg *tls.Config, caFile string) error {
	pool, err := loadPool(caFile)
	if err != nil {
		return err
	}
	cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	return nil
}

// WithClientCert gives the edge's trunk TLS the certificate it shows an origin that requires one
// (the edge's -trunk-cert and -trunk-key).
func WithClientCert(cfg *tls.Config, certFile, keyFile string) error {
	if certFile == "" || keyFile == "" {
		return errors.New("trunk: a client certificate needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("trunk: load TLS client certificate: %w", err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	return nil
}

// loadPool reads a PEM bundle of CA certificates.
func loadPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("trunk: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("trunk: no PEM certificate in CA file %s", caFile)
	}
	return pool, nil
}

// ClientCertRefused reads an error from the trunk handshake that follows the edge's TLS
// handshake: an origin that refuses the edge's client certificate (missing, or not of its
// -trunk-client-ca) sends a TLS alert only after the edge's handshake returned (TLS 1.3), so the
// refusal surfaces as a remote alert on the first read. That becomes an ErrTLS error saying what
// to change; any other error is returned as it is.
func ClientCertRefused(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return fmt.Errorf("%w: the origin refused this edge's TLS client certificate (see -trunk-cert/-trunk-key here and -trunk-client-ca there): %w", ErrTLS, err)
	}
	return err
}
