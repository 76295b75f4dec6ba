package origin

import (
	"context"
	"fmt"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/fmsgo/fmsgo/core/plugin"
)

// DecodeDeferred decodes the [modules."ID"] tables into the registered modules (config.Load
// calls it): each table's keys are the module's own, and one it does not know is an error
// naming its line like any other key.
func (c *Config) DecodeDeferred(md *toml.MetaData) error {
	sel, err := plugin.DecodeTables(md, c.Modules, "modules")
	if err != nil {
		return err
	}
	for _, m := range sel.Modules() {
		c.Plugins.Add(m)
	}
	return nil
}

// modulesStopWait bounds how long Shutdown gives the modules to deliver their queued events and
// stop.
const modulesStopWait = 5 * time.Second

// newPluginHost provisions and validates the configured modules; the server does not start
// when one fails.
func newPluginHost(cfg Config, s *Server) (*plugin.Host, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopModules = cancel
	h, err := plugin.NewHost(cfg.Plugins, plugin.Context{Ctx: ctx, Log: s.log.With().Str("component", "modules").Logger(),
		DataDir: cfg.Data, AppsDir: cfg.Apps, ConfigDir: cfg.ConfigDir})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("origin: %w", err)
	}
	if ids := h.IDs(); len(ids) > 0 {
		s.log.Info().Strs("modules", ids).Msg("plug-in modules provisioned")
	}
	return h, nil
}

// stopPluginHost lets the modules deliver what they queued, then stops them.
func (s *Server) stopPluginHost() {
	if s.plugins == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), modulesStopWait)
	defer cancel()
	if err := s.plugins.Stop(ctx); err != nil {
		s.log.Warn().Err(err).Msg("plug-in modules stopped with errors")
	}
	s.stopModules()
}

// emitAppEvent hands the engine's app events to the modules (the host is made after the
// engine, so the engine calls through the server).
func (s *Server) emitAppEvent(ev plugin.Event) { s.plugins.Emit(ev) }

// ModuleIDs lists the plug-in modules the config selected, in config order.
func (s *Server) ModuleIDs() []string { return s.plugins.IDs() }

// Discard releases what New prepared (the provisioned modules) for a server that is not
// started: the origin's -check-config.
func (s *Server) Discard() { s.stopPluginHost() }
