package edge

import (
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/trunk/trunktest"
	"github.com/fmsgo/fmsgo/origin"
)

// TestTrunkClientCertificates: an origin that requires edge certificates (-trunk-client-ca)
// authenticates its edges by TLS, without a shared secret: an edge with a certificate of that CA
// carries clients, an edge without one is refused (its client rejected, not left waiting). Such
// an origin may listen beyond loopback without a secret; one with TLS alone may not.
func TestTrunkClientCertificates(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	o := startOriginWith(t, map[string]string{"who": whoApp}, func(cfg *origin.Config) {
		cfg.TrunkSecret, cfg.TrunkCert, cfg.TrunkKey, cfg.TrunkClientCA = "", files.Cert, files.Key, files.CA
	})
	withCert := startEdgeWith(t, func(cfg *Config) {
		cfg.TrunkSecret, cfg.TrunkTLS, cfg.TrunkCA = "", true, files.CA
		cfg.TrunkCert, cfg.TrunkKey = files.ClientCert, files.ClientKey
	}, o)
	c := dial(t, withCert.url("who"), rtmpclient.Options{})
	if v, err := c.Call(ctx5(t), "echo", 3.0); err != nil || v != 3.0 {
		t.Fatalf("call through an edge with a client certificate: %v %v", v, err)
	}

	noCert := startEdgeWith(t, func(cfg *Config) { cfg.TrunkSecret, cfg.TrunkTLS, cfg.TrunkCA = "", true, files.CA }, o)
	_, err := rtmpclient.Dial(ctx5(t), noCert.url("who"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), "TLS") {
		t.Fatalf("client of an edge without a certificate: %v, want NetConnection.Connect.Rejected naming TLS", err)
	}
	waitFor(t, "the edge's log line saying what to change", func() bool {
		return strings.Contains(noCert.logs.String(), "refused this edge's TLS client certificate")
	})

	beyond := func(clientCA string) error {
		cfg := origin.DefaultConfig()
		cfg.RTMP, cfg.HTTP, cfg.Apps, cfg.Data = "", "", t.TempDir(), t.TempDir()
		cfg.Trunk, cfg.TrunkCert, cfg.TrunkKey, cfg.TrunkClientCA = "0.0.0.0:0", files.Cert, files.Key, clientCA
		_, err := origin.New(cfg, zerolog.Nop()) // not started: nothing listens beyond loopback
		return err
	}
	if err := beyond(files.CA); err != nil {
		t.Fatalf("a trunk beyond loopback with client certificates and no secret: %v", err)
	}
	if err := beyond(""); err == nil || !strings.Contains(err.Error(), "without a secret") {
		t.Fatalf("a trunk beyond loopback with TLS alone and no secret: %v, want refused", err)
	}
	if _, err := New(Config{Origins: []string{"127.0.0.1:1"}, TrunkCert: files.ClientCert, TrunkKey: files.ClientKey}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "-trunk-tls") {
		t.Fatalf("an edge certificate without -trunk-tls: %v", err)
	}
}
