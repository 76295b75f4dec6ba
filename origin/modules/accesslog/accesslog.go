// Package accesslog is the events.accesslog module: one structured line per connection (when
// it ends) and per stream session (a publish when it is unpublished, a play when it stops), the
// operator's record of who used what, how much and for how long, in the spirit of FMS's and
// W3C's access logs.
//
// Output goes to path (opened for appending; "" or "-" is the standard error) in one of two
// formats: "json" (the default), one JSON object per line with the fields of Entry, or "w3c",
// space-separated values under a #Fields directive (written each time the log is opened), where
// an empty value is "-" and a value's spaces, control bytes, '%', '"' and non-ASCII bytes are
// percent-encoded so that a line is always one line of fields. Lines gather in a buffer written
// at most about four times a second (a line is in the file within a quarter of a second of its
// event; a write per event would cost a busy server more than the lines); Stop flushes and
// closes the file. To rotate, rename the file and
// restart or reload the server (the module does not reopen it by itself).
package accesslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// ID is the module's ID in the config ([modules."events.accesslog"]).
const ID = "events.accesslog"

// The formats.
const (
	FormatJSON = "json"
	FormatW3C  = "w3c"
)

// errorLogEvery is how often write errors are logged, as a count.
const errorLogEvery = 10 * time.Second

func init() {
	plugin.Register(plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }})
}

// Module is the events.accesslog module; its exported fields are its config table.
type Module struct {
	// Path is the log file, relative to the config file's folder; "" or "-" is stderr.
	Path string `toml:"path"`
	// Format is "json" (default) or "w3c".
	Format string `toml:"format"`

	log zerolog.Logger
	// mu guards the output: events come from the host's delivery goroutine, Stop from the
	// server's, and the two may overlap when the host gave up waiting for delivery.
	mu        sync.Mutex
	file      *os.File // nil for stderr
	w         *bufio.Writer
	line      []byte
	closed    bool
	errs      uint64 // write errors not logged yet
	lastErrAt time.Time
}

var (
	_ plugin.EventSink     = (*Module)(nil)
	_ plugin.Provisioner   = (*Module)(nil)
	_ plugin.Validator     = (*Module)(nil)
	_ plugin.Starter       = (*Module)(nil)
	_ plugin.Stopper       = (*Module)(nil)
	_ plugin.EventLingerer = (*Module)(nil)
)

// PluginInfo registers the module as events.accesslog.
func (m *Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }}
}

// Provision fills in the default format and resolves path against the config's folder.
func (m *Module) Provision(pctx plugin.Context) error {
	m.log = pctx.Log
	if m.Format == "" {
		m.Format = FormatJSON
	}
	if m.Path != "" && m.Path != "-" && !filepath.IsAbs(m.Path) && pctx.ConfigDir != "" {
		m.Path = filepath.Join(pctx.ConfigDir, m.Path)
	}
	return nil
}

// Validate checks the format.
func (m *Module) Validate() error {
	if m.Format != FormatJSON && m.Format != FormatW3C {
		return fmt.Errorf("format: %q is neither %q nor %q", m.Format, FormatJSON, FormatW3C)
	}
	return nil
}

// Start opens the log (a file that cannot be opened stops the server's start).
func (m *Module) Start() error {
	var out io.Writer = os.Stderr
	if m.Path != "" && m.Path != "-" {
		f, err := os.OpenFile(m.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("open the access log: %w", err)
		}
		m.file, out = f, f
	}
	m.w = bufio.NewWriterSize(out, 64<<10) // a quarter second of a 2,000 connects/s storm
	if m.Format == FormatW3C {
		fmt.Fprintf(m.w, "#Version: 1.0\n#Software: fmsgo\n#Date: %s\n#Fields: %s\n",
			time.Now().UTC().Format("2006-01-02 15:04:05"), w3cFields)
	}
	return m.w.Flush()
}

// HandleEvent buffers the line of a disconnect, an unpublish or a stop (FlushEvents writes it);
// other events are not access-log lines.
func (m *Module) HandleEvent(_ context.Context, ev *plugin.Event) {
	cat := category(ev.Kind)
	if cat == "" {
		return
	}
	e := newEntry(ev, cat)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.w == nil {
		return
	}
	if m.Format == FormatW3C {
		m.line = e.appendW3C(m.line[:0])
	} else {
		m.line = e.appendJSON(m.line[:0])
	}
	_, err := m.w.Write(m.line)
	if err != nil {
		m.writeFailed(err)
	}
}

// accessLogLinger is how long the lines of a burst gather before they are written.
const accessLogLinger = 250 * time.Millisecond

// EventLinger asks the Host to let events gather for accessLogLinger before FlushEvents.
func (m *Module) EventLinger() time.Duration { return accessLogLinger }

// FlushEvents writes the buffered lines: the Host calls it at the end of each linger when no
// event is waiting, so a burst of disconnects costs a few writes a second.
func (m *Module) FlushEvents(context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.w == nil {
		return
	}
	if err := m.w.Flush(); err != nil {
		m.writeFailed(err)
	}
}

// writeFailed counts a write error and logs the count at most every errorLogEvery.
func (m *Module) writeFailed(err error) {
	m.errs++
	if time.Since(m.lastErrAt) < errorLogEvery {
		return
	}
	m.log.Error().Err(err).Str("path", m.Path).Uint64("lines_lost", m.errs).Msg("access log: write failed")
	m.errs, m.lastErrAt = 0, time.Now()
}

// Stop flushes the buffer and closes the file; later events are ignored.
func (m *Module) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.w == nil {
		return nil
	}
	m.closed = true
	err := m.w.Flush()
	if m.file != nil {
		err = errors.Join(err, m.file.Close())
	}
	if err != nil {
		return fmt.Errorf("access log %s: %w", m.Path, err)
	}
	return nil
}

// WantsEvent takes only the ends of sessions, the events that are lines.
func (m *Module) WantsEvent(k plugin.EventKind) bool { return category(k) != "" }

func category(k plugin.EventKind) string {
	switch k {
	case plugin.EvDisconnect:
		return "connection"
	case plugin.EvUnpublish, plugin.EvStop:
		return "stream"
	}
	return ""
}

// streamName drops a query that rode on the stream name (a token is often there).
func streamName(s string) string {
	name, _, _ := strings.Cut(s, "?")
	return name
}
