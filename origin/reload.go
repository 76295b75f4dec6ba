package origin

import (
	"fmt"

	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// liveKey reports the config keys a reload applies to the running server: the log level, and
// the client connections' limits that each new connection copies (connections already open keep
// theirs). A change of any other key is logged as needing a restart: listeners, folders,
// secrets, TLS, the apps folder's watching, and the limits the listeners, the shared inbound
// budget and the app engine copy when they start.
func liveKey(key string) bool {
	switch key {
	case "log_level", "limits.max_message_bytes", "limits.connect_timeout", "limits.handshake_timeout",
		"limits.media_flush_interval", "limits.max_media_flush_interval":
		return true
	}
	return false
}

// SetConfigSource tells Reload how to read the configuration again: the command re-reads its
// -config file and puts the command-line flags on top, so that they still win. Call it before
// the first Reload.
func (s *Server) SetConfigSource(load func() (Config, error)) { s.reload.SetSource(load) }

// Reload is SIGHUP: it rescans the apps folder (scripting.Engine.Rescan: changed apps reload
// with their clients connected, new folders become apps, removed ones shut down), then re-reads
// the configuration if SetConfigSource gave one. Changed settings that can change live are
// applied; each other changed setting is logged as needing a restart. A configuration that does
// not read or is invalid changes nothing and is returned as the error (the apps are rescanned
// all the same: they do not depend on it).
func (s *Server) Reload() error {
	s.log.Info().Msg("rescanning the apps folder")
	s.engine.Rescan()
	s.jsHooks.Rescan()
	return s.reloadConfig()
}

func (s *Server) reloadConfig() error {
	if _, err := s.reload.Reload(checkLive, liveKey, s.applyLive, &s.log); err != nil {
		return fmt.Errorf("origin: config not reloaded, nothing changed: %w", err)
	}
	return nil
}

// checkLive validates what a reload would apply.
func checkLive(next Config) error {
	_, err := logging.ParseLevel(next.LogLevel)
	return err
}

// applyLive applies the live keys of next (liveKey) and records them in running.
func (s *Server) applyLive(running *Config, next Config) {
	if running.LogLevel != next.LogLevel {
		level, _ := logging.ParseLevel(next.LogLevel)
		logging.SetLevel(level)
		running.LogLevel = next.LogLevel
	}
	s.applyConnLimits(&running.Limits, next.Limits)
}

// applyConnLimits configures new client connections with next's connection limits, keeping the
// server's inbound budget and connection runtime (inbound_buffer_bytes needs a restart).
func (s *Server) applyConnLimits(run *Limits, next Limits) {
	if run.MaxMessageBytes == next.MaxMessageBytes && run.ConnectTimeout == next.ConnectTimeout &&
		run.HandshakeTimeout == next.HandshakeTimeout && run.MediaFlushInterval == next.MediaFlushInterval &&
		run.MaxMediaFlushInterval == next.MaxMediaFlushInterval {
		return
	}
	run.MaxMessageBytes, run.ConnectTimeout, run.HandshakeTimeout = next.MaxMessageBytes, next.ConnectTimeout, next.HandshakeTimeout
	run.MediaFlushInterval, run.MaxMediaFlushInterval = next.MediaFlushInterval, next.MaxMediaFlushInterval
	conn := run.clientConn() // from the connection settings New was given, with the new keys
	conn.InboundBudget = s.conn.Load().InboundBudget
	conn.Runtime = s.conn.Load().Runtime // the same ids, ticks and counters
	s.conn.Store(&conn)
}

// clientConn is Limits.Conn with the [limits] keys applied (a new inbound budget included):
// what New configures client connections with.
func (l Limits) clientConn() rtmpconn.Config {
	if l.MediaFlushInterval != 0 {
		l.Conn.MediaFlushInterval = l.MediaFlushInterval
	}
	if l.MaxMediaFlushInterval != 0 {
		l.Conn.MaxMediaFlushInterval = l.MaxMediaFlushInterval
	}
	return l.Apply(l.Conn)
}
