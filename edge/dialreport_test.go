package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

// TestDialReportDoesNotCryWolf: an origin that is not up yet when the edge starts is one info
// line; a spell of failures becomes a warning after dialWarnAfter, repeated as a count every
// dialWarnEvery; a refusal no retry fixes is an error at once.
func TestDialReportDoesNotCryWolf(t *testing.T) {
	refused := errors.New("dial origin 127.0.0.1:19350: connection refused")
	cases := []struct {
		name   string
		err    error
		at     []time.Duration // failures, from the first
		upAt   int             // index after which the trunk came up once (-1: never)
		levels string
	}{
		{name: "origin starts late", err: refused, at: []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}, upAt: -1, levels: "info"},
		{name: "origin stays down", err: refused, upAt: -1,
			at:     []time.Duration{0, time.Second, 3 * time.Second, 6 * time.Second, 11 * time.Second, 16 * time.Second, 40 * time.Second},
			levels: "info warn warn"},
		{name: "wrong secret", err: fmt.Errorf("trunk handshake: %w", trunk.ErrAuth), at: []time.Duration{0, time.Second}, upAt: -1, levels: "error"},
		{name: "lost after being up", err: refused, at: []time.Duration{0, time.Second, 0}, upAt: 1, levels: "info info"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := zerolog.New(&buf)
			var r dialReport
			start := time.Unix(1000, 0)
			for i, d := range c.at {
				r.failed(log, c.err, time.Second, start.Add(d))
				if i == c.upAt {
					r.up(zerolog.Nop())
					start = start.Add(time.Minute)
				}
			}
			got := ""
			for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if got != "" {
					got += " "
				}
				got += m["level"].(string)
			}
			if got != c.levels {
				t.Fatalf("levels %q, want %q\n%s", got, c.levels, buf.String())
			}
		})
	}
}
