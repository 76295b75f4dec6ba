package plugin

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Tables is the [modules] table of a config file: one table per selected module, keyed by its
// ID (`[modules."auth.token"]`), decoded once the registry is known (DecodeTables).
type Tables map[string]toml.Primitive

// Selection is the modules a server runs, in config order (the order auth modules are asked in
// and the last writer of a writable field wins). Copying a Selection shares its modules.
type Selection struct {
	entries []Module
}

// Add selects a configured module (tests and programs that configure in Go).
func (s *Selection) Add(m Module) { s.entries = append(s.entries, m) }

// Len is how many modules are selected.
func (s Selection) Len() int { return len(s.entries) }

// Modules returns the selected modules in order.
func (s Selection) Modules() []Module { return append([]Module(nil), s.entries...) }

// DecodeTables decodes each module table of t (found under prefix, the [modules] key, in md)
// into a new value of its registered module, in the order of the file. An unregistered ID is an
// error listing the binary's modules; the keys a module does not know are left undecoded, for
// the config loader to report with their line.
func DecodeTables(md *toml.MetaData, t Tables, prefix string) (Selection, error) {
	var sel Selection
	for _, id := range tableOrder(md, t, prefix) {
		info, ok := Lookup(id)
		if !ok {
			return sel, fmt.Errorf("unknown module %q under [%s] (this binary has: %s)", id, prefix, strings.Join(IDs(), ", "))
		}
		m := info.New()
		if err := md.PrimitiveDecode(t[id], m); err != nil {
			return sel, fmt.Errorf("[%s.%q]: %w", prefix, id, err)
		}
		sel.Add(m)
	}
	return sel, nil
}

// tableOrder lists t's IDs in the order the file defines them.
func tableOrder(md *toml.MetaData, t Tables, prefix string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, k := range md.Keys() {
		if len(k) >= 2 && k[0] == prefix && !seen[k[1]] {
			if _, ok := t[k[1]]; ok {
				seen[k[1]] = true
				ids = append(ids, k[1])
			}
		}
	}
	for id := range t { // defined some other way (inline): after the others
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	return ids
}
