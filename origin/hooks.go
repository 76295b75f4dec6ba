package origin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/scripting"
)

// withHooks adds the server-wide JavaScript hooks of cfg.Hooks (docs/hooks.md) to cfg.Plugins,
// last, so that they decide after the Go auth modules. A missing folder (or an empty setting)
// means no hooks; a path that is not a folder is an error.
func withHooks(cfg *Config, log zerolog.Logger) (*scripting.Hooks, error) {
	if cfg.Hooks == "" {
		return nil, nil
	}
	st, err := os.Stat(cfg.Hooks)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("origin: hooks: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("origin: hooks: %s is not a folder", cfg.Hooks)
	}
	h, err := scripting.NewHooks(scripting.HooksConfig{Dir: cfg.Hooks,
		Contain: scripting.Containment{InstanceMemoryLimitMB: cfg.Limits.InstanceMemoryMB,
			CPUShare: cfg.Limits.InstanceCPUShare, CPUWindow: cfg.Limits.InstanceCPUWindow},
		NoFileEvents: !cfg.AppsEvents, RescanEvery: cfg.AppsPoll},
		log.With().Str("module", scripting.HooksID).Logger())
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	var sel plugin.Selection // a new one: the caller's Selection is not appended to
	for _, m := range cfg.Plugins.Modules() {
		sel.Add(m)
	}
	sel.Add(h)
	cfg.Plugins = sel
	return h, nil
}
