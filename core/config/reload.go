package config

import (
	"sync"

	"github.com/rs/zerolog"
)

// Reloader is what a server works from on SIGHUP: how to read its configuration again (the
// command re-reads its -config file with the command-line flags on top) and the configuration
// it runs with, as started plus what reloads applied since. The rule that a changed key either
// takes effect live or is reported as needing a restart is written here once, for every server.
type Reloader[T any] struct {
	mu      sync.Mutex
	source  func() (T, error)
	running T
}

// NewReloader starts from the configuration the server was started with.
func NewReloader[T any](running T) *Reloader[T] {
	return &Reloader[T]{running: running}
}

// SetSource tells Reload how to read the configuration again. Call it before the first Reload.
func (r *Reloader[T]) SetSource(load func() (T, error)) {
	r.mu.Lock()
	r.source = load
	r.mu.Unlock()
}

// Reload reads the configuration again. One that does not read, or that check refuses, changes
// nothing and is the error. Otherwise each changed key that live does not accept is logged as
// needing a restart (its name, never its value), and apply gets the running configuration to
// update with what it applies and the next one (under the reload's lock, so reloads never
// overlap). It returns the changed keys that live accepted; without a source it does nothing.
func (r *Reloader[T]) Reload(check func(next T) error, live func(key string) bool, apply func(running *T, next T), log *zerolog.Logger) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.source == nil {
		return nil, nil
	}
	next, err := r.source()
	if err == nil {
		err = check(next)
	}
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, key := range Changed(r.running, next) {
		if !live(key) {
			log.Warn().Str("key", key).Msg("changed in the config file; needs a restart")
			continue
		}
		applied = append(applied, key)
	}
	apply(&r.running, next)
	log.Info().Strs("applied", applied).Msg("config reloaded")
	return applied, nil
}
