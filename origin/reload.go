package origin

import (
	"fmt"
	"sync"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// reloadState is what Reload works from. mu serialises reloads.
type reloadState struct {
	mu     sync.Mutex
	source func() (Config, error) // nil: the apps are rescanned, no config is re-read
	// running is the configuration as given to New, with the settings applied live since.
	running Config
}

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
func (s *Server) SetConfigSource(load func() (Config, error)) {
	s.reload.mu.Lock()
	s.reload.source = load
	s.reload.mu.Unlock()
}

// Reload is SIGHUP: it rescans the apps folder (scripting.Engine.Rescan: changed apps reload
// with their clients connected, new folders become apps, removed ones shut down), then re-reads
// the configuration if SetConfigSource gave one. Changed settings that can change live are
// applied; each other changed setting is logged as needing a restart. A configuration that does
// not read or is invalid changes nothing and is returned as the error (the apps are rescanned
// all the same: they do not depend on it).
func (s *Server) Reload() error {
	s.log.Info().Msg("rescanning the apps folder")
	s.engine.Rescan()
	return s.reloadConfig()
}

func (s *Server) reloadConfig() error {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	if s.reload.source == nil {
		return nil
	}
	next, err := s.reload.source()
	if err != nil {
		return fmt.Errorf("origin: config not reloaded, nothing changed: %w", err)
	}
	level, err := logging.ParseLevel(next.LogLevel)
	if err != nil {
		return fmt.Errorf("origin: config not reloaded, nothing changed: %w", err)
	}
	var applied []string
	for _, key := range config.Changed(s.reload.running, next) {
		if !liveKey(key) {
			s.log.Warn().Str("key", key).Msg("changed in the config file; needs a restart")
			continue
		}
		applied = append(applied, key)
	}
	if s.reload.running.LogLevel != next.LogLevel {
		logging.SetLevel(level)
		s.reload.running.LogLevel = next.LogLevel
	}
	s.applyConnLimits(next.Limits)
	s.log.Info().Strs("applied", applied).Msg("config reloaded")
	return nil
}

// applyConnLimits configures new client connections with next's connection limits, keeping the
// server's inbound budget (inbound_buffer_bytes needs a restart).
func (s *Server) applyConnLimits(next Limits) {
	run := &s.reload.running.Limits
	if run.MaxMessageBytes == next.MaxMessageBytes && run.ConnectTimeout == next.ConnectTimeout &&
		run.HandshakeTimeout == next.HandshakeTimeout && run.MediaFlushInterval == next.MediaFlushInterval &&
		run.MaxMediaFlushInterval == next.MaxMediaFlushInterval {
		return
	}
	run.MaxMessageBytes, run.ConnectTimeout, run.HandshakeTimeout = next.MaxMessageBytes, next.ConnectTimeout, next.HandshakeTimeout
	run.MediaFlushInterval, run.MaxMediaFlushInterval = next.MediaFlushInterval, next.MaxMediaFlushInterval
	conn := run.clientConn() // from the connection settings New was given, with the new keys
	conn.InboundBudget = s.conn.Load().InboundBudget
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
