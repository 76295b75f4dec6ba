package scripting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// SharedObjectLimits caps one instance's shared objects (app.json "sharedObjects").
type SharedObjectLimits struct {
	MaxSlots   int   `json:"maxSlots"`
	MaxBytes   int64 `json:"maxBytes"`
	MaxObjects int   `json:"maxObjects"`
	// DiskQuotaMB is the app's disk budget for persistent objects, all instances together
	// (0: the server's default).
	DiskQuotaMB int64 `json:"diskQuotaMB"`
}

// AppConfig is an app's app.json: its limits and switches, and the free-form "config" object that
// scripts see as application.config. Missing keys keep the defaults of DefaultAppConfig.
type AppConfig struct {
	// Config is the raw "config" object (nil when absent), kept as JSON so that its key order
	// survives until the engine parses it inside the instance's runtime.
	Config                  json.RawMessage    `json:"config"`
	HandlerTimeoutMs        int                `json:"handlerTimeoutMs"`
	MemoryLimitMB           int                `json:"memoryLimitMB"`
	MaxClients              int                `json:"maxClients"`
	IdleUnloadSeconds       int                `json:"idleUnloadSeconds"`
	PendingConnectTimeoutMs int                `json:"pendingConnectTimeoutMs"`
	SendBWDone              bool               `json:"sendBWDone"`
	SharedObjects           SharedObjectLimits `json:"sharedObjects"`
	// PersistentSharedObjects lets clients use persistent shared objects of any name; without
	// it only those the script opened with SharedObject.get(name, true) (default false).
	PersistentSharedObjects bool `json:"persistentSharedObjects"`
	// MaxInstances caps the app's loaded instances (0: the server's default, InstanceLimits).
	MaxInstances int `json:"maxInstances"`
	// InstancePattern, if set, is a regular expression the whole instance name must match for a
	// connect to start that instance ("_definst_" included); instanceRE is it compiled.
	InstancePattern string `json:"instancePattern"`
	instanceRE      *regexp.Regexp
	// InstanceMemoryLimitMB is the estimated heap one instance may keep across callbacks, CPUShare
	// the fraction of a core its callbacks may hold over CPUWindowMs (jsloop/contain.go); 0 takes
	// the server's default (Containment), a negative value turns the bound off for this app.
	InstanceMemoryLimitMB int     `json:"instanceMemoryLimitMB"`
	CPUShare              float64 `json:"cpuShare"`
	CPUWindowMs           int     `json:"cpuWindowMs"`
	// RecordPublishes records every live publish of the app as if it had been published with
	// this type ("record", "append" or "appendWithGap"; "" for none), for encoders that only
	// publish live (ffmpeg, OBS) and apps without code to record.
	RecordPublishes string `json:"recordPublishes"`
}

// InstanceAllowed reports whether instancePattern lets name be started.
func (c AppConfig) InstanceAllowed(name string) bool {
	return c.instanceRE == nil || c.instanceRE.MatchString(name)
}

// DefaultAppConfig returns the limits an app without app.json gets (APP-API.md).
func DefaultAppConfig() AppConfig {
	return AppConfig{
		HandlerTimeoutMs:        1000,
		MemoryLimitMB:           256,
		IdleUnloadSeconds:       300,
		PendingConnectTimeoutMs: 30000,
		SendBWDone:              true,
		SharedObjects:           SharedObjectLimits{MaxSlots: 10000, MaxBytes: 16 << 20, MaxObjects: 1000},
	}
}

// HandlerTimeout is the budget of one callback.
func (c AppConfig) HandlerTimeout() time.Duration {
	return time.Duration(c.HandlerTimeoutMs) * time.Millisecond
}

// IdleUnload is how long an instance without clients stays loaded.
func (c AppConfig) IdleUnload() time.Duration {
	return time.Duration(c.IdleUnloadSeconds) * time.Second
}

// PendingConnectTimeout is how long a connection may wait for a verdict.
func (c AppConfig) PendingConnectTimeout() time.Duration {
	return time.Duration(c.PendingConnectTimeoutMs) * time.Millisecond
}

// ParseAppConfig parses app.json content; name (the file's path) prefixes errors. An unknown key
// is an error naming the key, so that a typo does not silently leave a limit at its default.
func ParseAppConfig(name string, b []byte) (AppConfig, error) {
	cfg := DefaultAppConfig()
	if err := checkKeys(name, b); err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return DefaultAppConfig(), jsonError(name, b, err)
	}
	if dec.More() {
		return DefaultAppConfig(), fmt.Errorf("%s: data after the top-level object", name)
	}
	if cfg.Config != nil && !bytes.HasPrefix(bytes.TrimSpace(cfg.Config), []byte("{")) && string(cfg.Config) != "null" {
		return DefaultAppConfig(), fmt.Errorf("%s: \"config\" must be an object", name)
	}
	if string(cfg.Config) == "null" {
		cfg.Config = nil
	}
	if cfg.InstancePattern != "" {
		re, err := regexp.Compile(`^(?:` + cfg.InstancePattern + `)$`)
		if err != nil {
			return DefaultAppConfig(), fmt.Errorf("%s: instancePattern: %w", name, err)
		}
		cfg.instanceRE = re
	}
	switch cfg.RecordPublishes {
	case "", "record", "append", "appendWithGap":
	default:
		return DefaultAppConfig(), fmt.Errorf("%s: recordPublishes %q: want \"record\", \"append\" or \"appendWithGap\"", name, cfg.RecordPublishes)
	}
	if cfg.HandlerTimeoutMs <= 0 || cfg.MemoryLimitMB <= 0 || cfg.MaxClients < 0 || cfg.IdleUnloadSeconds < 0 || cfg.MaxInstances < 0 ||
		cfg.PendingConnectTimeoutMs <= 0 || cfg.SharedObjects.MaxSlots < 0 || cfg.SharedObjects.MaxBytes < 0 ||
		cfg.SharedObjects.MaxObjects < 0 || cfg.SharedObjects.DiskQuotaMB < 0 {
		return DefaultAppConfig(), fmt.Errorf("%s: limits must be positive (maxClients, maxInstances and idleUnloadSeconds may be 0)", name)
	}
	return cfg, nil
}

// appKeys are app.json's keys; encoding/json matches keys case-insensitively, which would let
// "handlerTimeoutMS" pass, so keys are checked exactly first.
var appKeys = map[string]bool{
	"config": true, "handlerTimeoutMs": true, "memoryLimitMB": true, "maxClients": true,
	"idleUnloadSeconds": true, "pendingConnectTimeoutMs": true, "sendBWDone": true, "sharedObjects": true,
	"maxInstances": true, "instancePattern": true, "instanceMemoryLimitMB": true, "cpuShare": true, "cpuWindowMs": true,
	"persistentSharedObjects": true, "recordPublishes": true,
}

var sharedObjectKeys = map[string]bool{"maxSlots": true, "maxBytes": true, "maxObjects": true, "diskQuotaMB": true}

// checkKeys reports the first key of app.json (or of its sharedObjects) that is not spelled
// exactly as a known key. Malformed JSON is left to the typed decode, which gives positions.
func checkKeys(name string, b []byte) error {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return nil
	}
	for k := range top {
		if !appKeys[k] {
			return fmt.Errorf("%s: unknown key %q", name, k)
		}
	}
	var so map[string]json.RawMessage
	if raw, ok := top["sharedObjects"]; ok && json.Unmarshal(raw, &so) == nil {
		for k := range so {
			if !sharedObjectKeys[k] {
				return fmt.Errorf("%s: unknown key %q in \"sharedObjects\"", name, k)
			}
		}
	}
	return nil
}

// jsonError names the file and the line:column of a JSON error, and the key of an unknown field.
func jsonError(name string, b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, se.Offset)
		return fmt.Errorf("%s:%d:%d: %w", name, line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(b, te.Offset)
		return fmt.Errorf("%s:%d:%d: key %q: %w", name, line, col, te.Field, err)
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown key %s: %w", name, key, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// ValidAppName reports whether name may name an app (and appear in a URL): letters, digits, '_',
// '-' and '.', not starting with a dot.
func ValidAppName(name string) bool {
	if name == "" || name[0] == '.' || len(name) > 255 {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// App is one discovered application folder.
type App struct {
	Name   string
	Dir    string    // absolute path of apps/NAME
	Entry  string    // absolute path of the entry file, "" for an app without code
	Config AppConfig // app.json, or the defaults
}

// ListApps returns the names of the app folders in appsDir, sorted. Files and dot-folders are
// skipped; folders with invalid names are reported in the error list and skipped.
func ListApps(appsDir string) ([]string, []error) {
	ents, err := os.ReadDir(appsDir)
	if err != nil {
		return nil, []error{fmt.Errorf("listing apps: %w", err)}
	}
	var names []string
	var errs []error
	for _, e := range ents {
		if !isDir(appsDir, e) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !ValidAppName(e.Name()) {
			errs = append(errs, fmt.Errorf("app folder %q: invalid name (letters, digits, _ - . only)", e.Name()))
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, errs
}

// isDir follows symlinks, so that an app folder may be a link.
func isDir(parent string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && st.IsDir()
}

// LoadApp reads the app folder appsDir/name: its entry file and app.json. A bad app.json is an
// error (the caller logs it and keeps the previous version of the app, if any).
func LoadApp(appsDir, name string) (*App, error) {
	if !ValidAppName(name) {
		return nil, fmt.Errorf("app %q: invalid name", name)
	}
	dir, err := filepath.Abs(filepath.Join(appsDir, name))
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", name, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", name, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("app %s: not a folder", name)
	}
	app := &App{Name: name, Dir: dir, Entry: EntryFile(dir, name), Config: DefaultAppConfig()}
	b, err := os.ReadFile(filepath.Join(dir, "app.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("app %s: %w", name, err)
	default:
		if app.Config, err = ParseAppConfig(filepath.Join(filepath.Base(appsDir), name, "app.json"), b); err != nil {
			return nil, err
		}
	}
	return app, nil
}

// Discover loads every app of appsDir. Apps that fail to load are left out and their errors
// returned alongside, one per app.
func Discover(appsDir string) (map[string]*App, []error) {
	names, errs := ListApps(appsDir)
	apps := make(map[string]*App, len(names))
	for _, n := range names {
		app, err := LoadApp(appsDir, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		apps[n] = app
	}
	return apps, errs
}
