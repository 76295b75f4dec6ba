// Package logging builds the process logger: zerolog, JSON by default (what log shippers want),
// human-readable console output when asked. Every component derives a sub-logger from it that
// carries its own identity (connection id, app/instance), so a line can always be traced back.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options selects the level and format of the process logger.
type Options struct {
	Level  string // trace, debug, info, warn, error; "" = info
	Format string // json or console; "" = json
	Out    io.Writer
}

// New returns the root logger. The level is applied globally (zerolog.SetGlobalLevel) so that it
// can be changed at run time without rebuilding sub-loggers.
func New(opt Options) (zerolog.Logger, error) {
	out := opt.Out
	if out == nil {
		out = os.Stderr
	}
	lvl, err := ParseLevel(opt.Level)
	if err != nil {
		return zerolog.Nop(), err
	}
	switch opt.Format {
	case "", "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want json or console", opt.Format)
	}
	zerolog.SetGlobalLevel(lvl)
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(out).With().Timestamp().Logger(), nil
}

// ParseLevel reads a level name (trace, debug, info, warn, error; "" = info).
func ParseLevel(name string) (zerolog.Level, error) {
	if name == "" {
		return zerolog.InfoLevel, nil
	}
	l, err := zerolog.ParseLevel(name)
	if err != nil {
		return zerolog.NoLevel, fmt.Errorf("log level %q: %w", name, err)
	}
	return l, nil
}

// SetLevel changes the level of every logger New made, at once (a config reload).
func SetLevel(l zerolog.Level) {
	zerolog.SetGlobalLevel(l)
}

// RedactQuery keeps the parameter names of a URL query and hides their values ("key=s3cret&x"
// → "key=***&x"): stream keys and tokens travel in queries and must not reach info-level logs,
// while the names still tell an operator what the client sent.
func RedactQuery(q string) string {
	if q == "" {
		return ""
	}
	var b strings.Builder
	for i, part := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(part, "=")
		b.WriteString(name)
		if hasValue {
			b.WriteString("=***")
		}
	}
	return b.String()
}
