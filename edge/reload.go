package edge

import (
	"fmt"
	"maps"

	"github.com/fmsgo/fmsgo/core/logging"
)

// liveKey reports the config keys a reload applies to the running edge: the log level, the
// client connections' limits that each new connection copies (connections already open keep
// theirs), and the route table (new connections follow the new routes; connected clients stay on
// the origin they are on, so an instance whose route moved runs on both origins until its old
// clients leave). A change of any other key is logged as needing a restart.
func liveKey(key string) bool {
	switch key {
	case "log_level", "routes", "limits.max_message_bytes", "limits.connect_timeout", "limits.handshake_timeout":
		return true
	}
	return false
}

// SetConfigSource tells Reload how to read the configuration again: the command re-reads its
// -config file and puts the command-line flags on top, so that they still win. Call it before
// the first Reload.
func (s *Server) SetConfigSource(load func() (Config, error)) { s.reload.SetSource(load) }

// Reload is SIGHUP: it re-reads the configuration if SetConfigSource gave one. Changed settings
// that can change live (liveKey) are applied; each other changed setting is logged as needing a
// restart. A configuration that does not read or is invalid changes nothing and is returned as
// the error.
func (s *Server) Reload() error {
	if _, err := s.reload.Reload(checkLive, liveKey, s.applyLive, &s.log); err != nil {
		return fmt.Errorf("edge: config not reloaded, nothing changed: %w", err)
	}
	return nil
}

// applyLive applies the live keys of next (liveKey) and records them in running.
func (s *Server) applyLive(running *Config, next Config) {
	if running.LogLevel != next.LogLevel {
		level, _ := logging.ParseLevel(next.LogLevel)
		logging.SetLevel(level)
		running.LogLevel = next.LogLevel
	}
	s.applyConnLimits(&running.Limits, next.Limits)
	if maps.Equal(running.Routes, next.Routes) {
		return
	}
	// The routes name origins by their -origins spelling: they are compiled against the running
	// origins, which a reload does not change.
	routes, err := compileRoutes(s.cfg.Origins, next.Routes)
	if err != nil {
		s.log.Warn().Err(err).Str("key", "routes").Msg("routes not applied until a restart")
		return
	}
	s.routes.Store(&routes)
	running.Routes = next.Routes
	s.log.Info().Int("routes", len(routes)).Msg("routes reloaded; connected clients stay on their origin")
}

// checkLive validates what a reload would apply, against the new file's own origins.
func checkLive(next Config) error {
	if _, err := logging.ParseLevel(next.LogLevel); err != nil {
		return err
	}
	if _, err := compileRoutes(next.Origins, next.Routes); err != nil {
		return err
	}
	return nil
}

// applyConnLimits configures new client connections with next's connection limits, keeping the
// edge's inbound budget and connection runtime (inbound_buffer_bytes needs a restart).
func (s *Server) applyConnLimits(run *Limits, next Limits) {
	if run.MaxMessageBytes == next.MaxMessageBytes && run.ConnectTimeout == next.ConnectTimeout &&
		run.HandshakeTimeout == next.HandshakeTimeout {
		return
	}
	run.MaxMessageBytes, run.ConnectTimeout, run.HandshakeTimeout = next.MaxMessageBytes, next.ConnectTimeout, next.HandshakeTimeout
	conn := run.Apply(run.Conn) // from the connection settings New was given, with the new keys
	conn.InboundBudget = s.conn.Load().InboundBudget
	conn.Runtime = s.conn.Load().Runtime // the same ids, ticks and counters
	s.conn.Store(&conn)
}
