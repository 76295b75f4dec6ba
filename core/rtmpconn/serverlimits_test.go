package rtmpconn

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/config"
)

// TestServerLimitsFromTOML: the client-limit keys sit directly in [limits] of a server's config
// file, with ServerLimits embedded in the server's own Limits (as origin and edge do).
func TestServerLimitsFromTOML(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "c.toml")
	err := os.WriteFile(p, []byte(`[limits]
max_connections = 7
max_connections_per_address = 3
accept_rate = 2.5
accept_burst = 4
handshake_timeout = "2s"
max_message_bytes = 65536
connect_timeout = "3s"
inbound_buffer_bytes = 1048576
other = 1
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Limits struct {
			ServerLimits
			Other int `toml:"other"`
		} `toml:"limits"`
	}
	if err := config.Load(p, &cfg); err != nil {
		t.Fatal(err)
	}
	want := ServerLimits{MaxConnections: 7, MaxConnectionsPerAddress: 3, AcceptRate: 2.5, AcceptBurst: 4,
		HandshakeTimeout: 2 * time.Second, MaxMessageBytes: 65536, ConnectTimeout: 3 * time.Second, InboundBufferBytes: 1 << 20}
	if cfg.Limits.ServerLimits != want || cfg.Limits.Other != 1 {
		t.Fatalf("loaded %+v, want %+v", cfg.Limits, want)
	}
	if a := want.Accept(); a.MaxConns != 7 || a.MaxPerAddress != 3 || a.AcceptRate != 2.5 || a.AcceptBurst != 4 {
		t.Fatalf("accept limits %+v", a)
	}
}
