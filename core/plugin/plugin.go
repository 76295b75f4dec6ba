// Package plugin is the origin's module system: Go modules compiled into the binary extend the
// server at fixed extension points (auth, naming, storage, sostore, events, rpc) without a fork.
// A module registers itself by ID in init() (Caddy's model), the config selects modules by ID
// and gives each its own TOML table, and a Host provisions, validates, starts and stops the
// selected ones and applies them for every transport. A custom binary is a go build of a main
// that imports the modules it wants (origin/cmd/fmsgo-build writes one); there is no Go plugin
// package here: it needs cgo, cannot unload and ties a plug-in to the exact toolchain.
package plugin

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// Module is a plug-in module: a value of a type that registered itself with Register. Its
// exported fields with toml tags are its configuration; it implements one or more extension
// point interfaces (Authorizer, Namer, Storage, SOStore, EventSink, RPCService) and optionally
// the lifecycle ones (Provisioner, Validator, Starter, Stopper).
type Module interface {
	// PluginInfo describes the module; it must not depend on the value's fields.
	PluginInfo() ModuleInfo
}

// ModuleInfo is a module's registration.
type ModuleInfo struct {
	// ID is NAMESPACE.NAME: the extension point's namespace (auth, naming, storage, sostore,
	// events, rpc) or the author's own, then the module's name ("auth.token").
	ID string
	// New returns a new, zero-configured value (a pointer the config table is decoded into).
	New func() Module
}

// idPattern is what a module ID looks like: lower-case words, at least two dot-separated.
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// registry holds the modules the binary was built with. It is filled by init() functions and
// read afterwards: the one piece of process-wide state DESIGN.md allows.
var registry = struct {
	sync.RWMutex
	byID map[string]ModuleInfo
}{byID: map[string]ModuleInfo{}}

// Register adds a module to the binary's registry; call it from init(). A malformed ID, a nil
// New, or an ID registered twice panics: two modules claiming one ID is a build mistake that
// must not start a server that silently uses either.
func Register(info ModuleInfo) {
	if !idPattern.MatchString(info.ID) {
		panic(fmt.Sprintf("plugin: module ID %q is not NAMESPACE.NAME (lower case, letters, digits, _)", info.ID))
	}
	if info.New == nil {
		panic(fmt.Sprintf("plugin: module %s has no New", info.ID))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byID[info.ID]; dup {
		panic(fmt.Sprintf("plugin: module %s registered twice", info.ID))
	}
	registry.byID[info.ID] = info
}

// Lookup returns the registration of id.
func Lookup(id string) (ModuleInfo, bool) {
	registry.RLock()
	defer registry.RUnlock()
	info, ok := registry.byID[id]
	return info, ok
}

// IDs lists the registered modules, sorted (origin -modules prints it).
func IDs() []string {
	registry.RLock()
	defer registry.RUnlock()
	ids := make([]string, 0, len(registry.byID))
	for id := range registry.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
