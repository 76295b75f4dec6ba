package trunk

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/trunk/trunktest"
)

// tlsSides is one TLS handshake case: which sides speak TLS and what each should report.
type tlsSides struct {
	name           string
	edgeTLS        bool
	originTLS      bool
	edgeCA         bool // verify against the test CA (else: the system roots, which do not know it)
	edgeErr, orErr error
}

func TestTLSHandshake(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	cases := []tlsSides{
		{name: "both TLS", edgeTLS: true, originTLS: true, edgeCA: true},
		{name: "edge TLS, plain origin", edgeTLS: true, edgeErr: ErrTLS, orErr: ErrTLS},
		{name: "plain edge, TLS origin", originTLS: true, edgeErr: ErrTLS, orErr: ErrTLS},
		{name: "untrusted origin certificate", edgeTLS: true, originTLS: true, edgeErr: ErrTLS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			e, o := runTLSHandshake(t, files, c)
			if !errors.Is(e, c.edgeErr) || (c.edgeErr == nil) != (e == nil) {
				t.Fatalf("edge: got %v, want %v", e, c.edgeErr)
			}
			if c.orErr != nil && !errors.Is(o, c.orErr) || c.edgeErr == nil && o != nil {
				t.Fatalf("origin: got %v, want %v", o, c.orErr)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("a mismatch took %v to be noticed", d)
			}
			t.Logf("edge: %v; origin: %v", e, o)
		})
	}
}

// runTLSHandshake runs the TLS layer (if any) then the trunk handshake with a secret on both
// sides, and returns the edge's and the origin's errors.
func runTLSHandshake(t *testing.T, files trunktest.Files, c tlsSides) (edgeErr, originErr error) {
	cc, sc := tcpPair(t)
	hs := HandshakeConfig{Secret: []byte("s"), Timeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		defer sc.Close()
		var nc net.Conn = sc
		if c.originTLS {
			cfg, err := ServerTLSConfig(files.Cert, files.Key)
			if err != nil {
				done <- err
				return
			}
			if nc, err = ServerTLS(context.Background(), sc, cfg, 300*time.Millisecond); err != nil {
				done <- err
				return
			}
		}
		_, err := ServerHandshake(nc, hs)
		done <- err
	}()
	var nc net.Conn = cc
	if c.edgeTLS {
		ca := ""
		if c.edgeCA {
			ca = files.CA
		}
		cfg, err := ClientTLSConfig(ca, sc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		if nc, err = ClientTLS(context.Background(), cc, cfg); err != nil {
			cc.Close()
			return err, <-done
		}
	}
	_, err := ClientHandshake(nc, hs)
	cc.Close()
	return err, <-done
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	if _, err := ServerTLSConfig(files.Cert, ""); err == nil {
		t.Fatal("a certificate without a key was accepted")
	}
	if _, err := ServerTLSConfig(files.Key, files.Cert); err == nil {
		t.Fatal("swapped certificate and key were accepted")
	}
	if _, err := ClientTLSConfig(files.Key, "127.0.0.1:1"); err == nil {
		t.Fatal("a CA file without certificates was accepted")
	}
	if _, err := ClientTLSConfig("", "no-port"); err == nil {
		t.Fatal("an origin address without a port was accepted")
	}
	cfg, err := ClientTLSConfig(files.CA, "127.0.0.1:19350")
	if err != nil || cfg.ServerName != "127.0.0.1" || cfg.RootCAs == nil {
		t.Fatalf("client config %+v: %v", cfg, err)
	}
}

// bytesConn is a net.Conn whose peer sent fixed bytes and reads nothing back.
type bytesConn struct {
	net.Conn // nil: only the methods below are used
	r        *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// preHelloFixtures are first bytes an origin may get from whatever connects to its trunk port.
var preHelloFixtures = []struct {
	name string
	wire []byte
	want error
}{
	{"TLS 1.2 ClientHello record", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, ErrTLS},
	{"TLS 1.0 ClientHello record", []byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03}, ErrTLS},
	{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrFrameTooLarge},
	{"RTMP C0+C1", append([]byte{3}, make([]byte, 40)...), ErrFrameTooLarge},
	{"valid hello", AppendFrame(nil, 0, Hello{Magic: Magic, Version: ProtocolVersion, EdgeID: "e"}), nil},
}

func TestServerHandshakeNamesTLS(t *testing.T) {
	t.Parallel()
	for _, c := range preHelloFixtures {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := ServerHandshake(&bytesConn{r: bytes.NewReader(c.wire)}, HandshakeConfig{ID: "o"})
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzServerHandshake feeds arbitrary bytes to the origin's side of the hello exchange, which
// runs before the edge is authenticated: no panic, and an accepted link names the edge's id.
func FuzzServerHandshake(f *testing.F) {
	for _, c := range preHelloFixtures {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		link, err := ServerHandshake(&bytesConn{r: bytes.NewReader(b)}, HandshakeConfig{ID: "o"})
		if err == nil && link.PeerMaxFrame <= 0 {
			t.Fatalf("accepted link with max frame %d", link.PeerMaxFrame)
		}
	})
}
