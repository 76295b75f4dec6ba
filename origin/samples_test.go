package origin

import (
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// TestSampleConfigsLoad keeps the shipped origin configs valid (unknown keys are errors).
func TestSampleConfigsLoad(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "samples", "cluster", "origin-*.toml"))
	if len(files) == 0 {
		t.Fatal("no sample origin configs")
	}
	for _, f := range files {
		cfg := DefaultConfig()
		if err := config.Load(f, &cfg); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := trunk.LoadSecret(cfg.TrunkSecret, cfg.TrunkSecretFile); err != nil {
			t.Errorf("%s: %v", f, err) // issue 9: no shipped "change-me"
		}
	}
}
