package edge

import (
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/config"
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
		if len(cfg.Origins) != 2 {
			t.Errorf("%s: %d origins", f, len(cfg.Origins))
		}
	}
}
