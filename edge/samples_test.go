package edge

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// TestSampleConfigsLoad keeps the shipped edge configs valid (unknown keys are errors).
func TestSampleConfigsLoad(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "samples", "cluster", "edge-*.toml"))
	if len(files) == 0 {
		t.Fatal("no sample edge configs")
	}
	for _, f := range files {
		cfg := DefaultConfig()
		if err := config.Load(f, &cfg); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := trunk.LoadSecret(cfg.TrunkSecret, cfg.TrunkSecretFile); err != nil {
			t.Errorf("%s: %v", f, err) // issue 9: no shipped "change-me"
		}
		if len(cfg.Origins) != 2 {
			t.Errorf("%s: %d origins", f, len(cfg.Origins))
		}
	}
}

// TestConfigTOMLKeys: the new trunk options load from TOML under their documented keys.
func TestConfigTOMLKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "edge.toml")
	toml := "origins = [\"127.0.0.1:19350\"]\ntrunk_tls = true\ntrunk_ca = \"/etc/fmsgo/ca.pem\"\nfailover = true\nhttp = \"127.0.0.1:0\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := config.Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.TrunkTLS || cfg.TrunkCA != "/etc/fmsgo/ca.pem" || !cfg.Failover || cfg.HTTP != "127.0.0.1:0" {
		t.Fatalf("loaded %+v", cfg)
	}
}

// TestEdgeDefaultsLoopback (issue 9 item 2): the edge's admin listener defaults to loopback;
// its RTMP listener stays on every interface (clients come from anywhere).
func TestEdgeDefaultsLoopback(t *testing.T) {
	t.Parallel()
	if d := DefaultConfig(); d.HTTP != "127.0.0.1:8087" || d.RTMP != ":1935" {
		t.Fatalf("defaults: rtmp %q http %q", d.RTMP, d.HTTP)
	}
}
