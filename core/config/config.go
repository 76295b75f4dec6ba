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
	if d, ok := dst.(Deferred); ok {
		if err := d.DecodeDeferred(&md); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return fmt.Errorf("config %s:%d: unknown key %q", path, lineOf(b, k), k.String())
	}
	return nil
}

// Deferred is implemented by a config struct with tables whose Go types are known only once
// the file is read (plug-in modules' tables, typed by the module registry): DecodeDeferred
// decodes them from the file's metadata (toml.Primitive fields, MetaData.PrimitiveDecode), and
// the keys it leaves undecoded are reported like any unknown key, with their line.
type Deferred interface {
	DecodeDeferred(md *toml.MetaData) error
}

// lineOf finds the line that defines key (best effort: 0 if not found): the line of a table
// header naming the whole key, or of the key's last element inside its parent table.
func lineOf(b []byte, key toml.Key) int {
	name := key[len(key)-1]
	parent := strings.Join(key[:len(key)-1], ".")
	whole := key.String()
	table, fallback := "", 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			table = normalizeHeader(line)
			if table == whole || table == strings.ReplaceAll(whole, `"`, "") {
				return n
			}
			continue
		}
		if k := lineKey(line); k != name && !strings.HasSuffix(k, "."+name) {
			continue
		}
		if table == strings.ReplaceAll(parent, `"`, "") {
			return n
		}
		if fallback == 0 {
			fallback = n
		}
	}
	return fallback
}

// lineKey is the key a "key = value" line defines, without quotes or spaces ("" if none):
// exact, so that "origin" is not found on the line of "origins".
func lineKey(line string) string {
	k, _, ok := strings.Cut(line, "=")
	if !ok {
		return ""
	}
	return normalizeHeader(k)
}

// normalizeHeader turns `[ a."b.c" ]` or `[[a]]` into a.b.c, a: a table's key path without
// quotes or spaces.
func normalizeHeader(line string) string {
	if i := strings.Index(line, "#"); i >= 0 {
		line = line[:i]
	}
	line = strings.Trim(strings.TrimSpace(line), "[]")
	var parts []string
	for _, p := range strings.Split(line, ".") {
		parts = append(parts, strings.Trim(strings.TrimSpace(p), `"'`))
	}
	return strings.Join(parts, ".")
}

// WithoutFlag is args without the string flag name and its value (-name v, -name=v): a command
// that turns one of its flags into another (-check-config FILE into -config FILE).
func WithoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		switch {
		case a == name:
			i++ // its value
		case strings.HasPrefix(a, name+"="):
		default:
			out = append(out, args[i])
		}
	}
	return out
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
