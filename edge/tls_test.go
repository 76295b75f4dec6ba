package edge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/trunk/trunktest"
	"github.com/fmsgo/fmsgo/origin"
	"github.com/rs/zerolog"
)

// TestTrunkTLS: with a certificate on the origin and -trunk-tls (+ -trunk-ca) on the edge the
// trunk, with its shared secret inside, carries clients as usual; every mismatch rejects the
// client with a status that names TLS, logs why on the side that noticed, and does not hang.
func TestTrunkTLS(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	cases := []struct {
		name               string
		originTLS, edgeTLS bool
		ca                 string // the edge's -trunk-ca
		edgeLog, orLog     string // "" = the call must work
	}{
		{name: "TLS on both sides", originTLS: true, edgeTLS: true, ca: files.CA},
		{name: "edge TLS, plain origin", edgeTLS: true, ca: files.CA,
			edgeLog: "does not speak TLS on the trunk", orLog: "the edge speaks TLS on the trunk"},
		{name: "plain edge, TLS origin", originTLS: true,
			edgeLog: "requires TLS on the trunk", orLog: "trunk TLS handshake: "},
		{name: "origin certificate not trusted", originTLS: true, edgeTLS: true,
			edgeLog: "certificate is not trusted", orLog: "trunk TLS handshake: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := startOriginWith(t, map[string]string{"who": whoApp}, func(cfg *origin.Config) {
				cfg.TrunkSecret = testSecret
				if c.originTLS {
					cfg.TrunkCert, cfg.TrunkKey = files.Cert, files.Key
				}
			})
			e := startEdgeWith(t, func(cfg *Config) {
				cfg.TrunkSecret, cfg.TrunkTLS, cfg.TrunkCA = testSecret, c.edgeTLS, c.ca
			}, o)
			start := time.Now()
			cl, err := rtmpclient.Dial(ctx5(t), e.url("who"), rtmpclient.Options{})
			if c.edgeLog == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				if v, err := cl.Call(ctx5(t), "echo", 7.0); err != nil || v != 7.0 {
					t.Fatalf("call over a TLS trunk: %v %v", v, err)
				}
				return
			}
			var se *rtmpclient.StatusError
			if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), "TLS") {
				t.Fatalf("client behind a mismatched trunk: %v", err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Fatalf("the rejection took %v", d)
			}
			waitFor(t, "the edge to log the mismatch", func() bool { return strings.Contains(e.logs.String(), c.edgeLog) })
			waitFor(t, "the origin to log the mismatch", func() bool { return strings.Contains(o.logs.String(), c.orLog) })
		})
	}
}

func TestTrunkTLSConfigErrors(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"CA without -trunk-tls", Config{Origins: []string{"127.0.0.1:1"}, TrunkCA: files.CA}},
		{"unreadable CA", Config{Origins: []string{"127.0.0.1:1"}, TrunkTLS: true, TrunkCA: files.CA + ".missing"}},
		{"origin without port", Config{Origins: []string{"127.0.0.1"}, TrunkTLS: true}},
	}
	for _, c := range cases {
		if _, err := New(c.cfg, zerolog.Nop()); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := New(Config{Origins: []string{"127.0.0.1:1"}, TrunkTLS: true}, zerolog.Nop()); err != nil {
		t.Fatalf("TLS with the system roots: %v", err)
	}
}
