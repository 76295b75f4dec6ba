// Package config loads the TOML file behind -config. Keys are the command-line flag names in
// snake_case; an unknown key is an error that names its line, because a silently ignored typo in
// a server's config is a production incident waiting to happen. Flags win over the file: callers
// load the file first and use its values as the flags' defaults.
package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load decodes the TOML file at path into dst (a pointer to a struct with `toml` tags).
func Load(path string, dst any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), dst)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return fmt.Errorf("config %s:%d: unknown key %q", path, lineOf(b, k), k.String())
	}
	return nil
}

// lineOf finds the line that defines the last element of key (best effort: 0 if not found).
func lineOf(b []byte, key toml.Key) int {
	name := key[len(key)-1]
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, name) || strings.HasPrefix(line, `"`+name+`"`) || strings.HasPrefix(line, "["+name) {
			return n
		}
	}
	return 0
}

// FindFlag returns the value of -name/--name in args (as "-name v" or "-name=v"), so that the
// config file can be read before the flags are defined with its values as defaults.
func FindFlag(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
