package origin

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/core/trunk/trunktest"
	"github.com/rs/zerolog"
)

// TestTrunkTLSStart: a certificate without its key, or files that do not load, stop Start with
// an error that names the problem instead of serving a plain trunk.
func TestTrunkTLSStart(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	cases := []struct{ name, cert, key, want string }{
		{"certificate without key", files.Cert, "", "both a certificate and a key"},
		{"key without certificate", "", files.Key, "both a certificate and a key"},
		{"missing files", files.Cert + ".x", files.Key + ".x", "load TLS certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.RTMP, cfg.Trunk, cfg.HTTP, cfg.Apps, cfg.Data = "", "127.0.0.1:0", "", t.TempDir(), t.TempDir()
			cfg.TrunkCert, cfg.TrunkKey = c.cert, c.key
			srv, err := New(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err = srv.Start(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Start: %v, want %q", err, c.want)
			}
		})
	}
}

// TestTrunkTLSEdge: an edge that verifies the origin's certificate runs the secret handshake
// inside TLS, and shows up in the per-edge metrics.
func TestTrunkTLSEdge(t *testing.T) {
	t.Parallel()
	files := trunktest.TLSFiles(t)
	o := startOriginWith(t, func(c *Config) {
		c.Trunk, c.TrunkSecret, c.TrunkCert, c.TrunkKey = "127.0.0.1:0", testSecret, files.Cert, files.Key
	})
	addr := o.srv.TrunkAddr().String()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg, err := trunk.ClientTLSConfig(files.CA, addr)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := trunk.ClientTLS(context.Background(), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	link, err := trunk.ClientHandshake(tc, trunk.HandshakeConfig{ID: "tls-edge", Secret: []byte(testSecret), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer link.NetConn.Close()
	waitFor(t, 5*time.Second, "the edge in the metrics", func() bool {
		return edgeSample(o.srv.Metrics(), "fmsgo_edge_trunks", "tls-edge") == 1
	})
}

// edgeSample is a per-edge metric's value for one edge id (-1 when absent).
func edgeSample(ms []admin.Metric, name, edge string) float64 {
	for _, m := range ms {
		if m.Name != name {
			continue
		}
		for _, s := range m.Samples {
			if s.Labels["edge"] == edge {
				return s.Value
			}
		}
	}
	return -1
}
