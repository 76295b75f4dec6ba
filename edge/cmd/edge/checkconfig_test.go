package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig: -check-config FILE reports a good edge config, and refuses a bad one with the
// reason and, for the file's own mistakes, its line.
func TestCheckConfig(t *testing.T) {
	cases := []struct {
		name, file, want string
		bad              bool
	}{
		{name: "good", file: "rtmp = \"127.0.0.1:1\"\norigins = [\"127.0.0.1:2\", \"127.0.0.1:3\"]\n", want: "ok\n  listeners: rtmp 127.0.0.1:1, http 127.0.0.1:8087, web off\n  origins: 127.0.0.1:2, 127.0.0.1:3\n"},
		{name: "unknown key", file: "origins = [\"127.0.0.1:2\"]\norigin = \"x\"\n", bad: true, want: ":2: unknown key \"origin\""},
		{name: "no origins", file: "rtmp = \"127.0.0.1:1\"\n", bad: true, want: "no origins"},
		{name: "route to an unknown origin", file: "origins = [\"127.0.0.1:2\"]\n[routes]\nlive = \"127.0.0.1:9\"\n", bad: true, want: "127.0.0.1:9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "edge.toml")
			if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := checkConfig([]string{"-check-config", path}, &out)
			switch {
			case c.bad && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want it to name %q (printed %q)", err, c.want, out.String())
			case !c.bad && (err != nil || !strings.Contains(out.String(), c.want)):
				t.Fatalf("error %v, printed %q, want %q", err, out.String(), c.want)
			}
		})
	}
}
