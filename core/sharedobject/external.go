package sharedobject

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// External is a store of encoded persistent objects other than an instance's files: the
// method set of the sostore extension point (plugin.SOStore), so that any sostore module
// serves a registry through NewExternalStore. LoadSO answers fs.ErrNotExist when nothing is
// stored and fs.ErrInvalid for a name it cannot hold; SaveSO is atomic.
type External interface {
	LoadSO(ctx context.Context, app, instance, name string) ([]byte, error)
	SaveSO(ctx context.Context, app, instance, name string, data []byte) error
}

// ErrStoreFailed is a persistent object that its external store could not read: it is refused
// (CodeLoadFailed) rather than started empty, which would overwrite the stored state at the
// next flush.
var ErrStoreFailed = errors.New("sharedobject: store failed")

// CodeLoadFailed answers a Use of a persistent object that its store could not read (fmsgo's
// own code).
const CodeLoadFailed = "SharedObject.Load.Failed"

// NewExternalStore returns the store of app/instance kept in ext, each call bounded by budget
// (0: defaultExternalBudget). Names follow the same rule as files (no empty, "." or ".." segment) but not their length
// limits: ext refuses what it cannot hold.
func NewExternalStore(ext External, app, instance string, budget time.Duration) *Store {
	if budget <= 0 {
		budget = defaultExternalBudget
	}
	return &Store{ext: ext, app: app, instance: instance, budget: budget, written: map[string]uint64{}}
}

// defaultExternalBudget is plugin.DefaultSOStoreBudget (core/plugin is not imported here).
const defaultExternalBudget = 3 * time.Second

// check refuses, with ErrBadName, a name the store cannot hold (before anything is loaded).
func (s *Store) check(name string) error {
	if s.ext == nil {
		_, err := s.Path(name)
		return err
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("shared object %q: %w: segment %q", name, ErrBadName, seg)
		}
	}
	return nil
}

func (s *Store) call(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	return fn(ctx)
}

// loadExternal is Load from ext: nothing stored is (nil, nil), a refused name ErrBadName, a
// failed read ErrStoreFailed, and undecodable data a corrupt object (logged, started empty).
func (s *Store) loadExternal(name string) (*snapshot, error) {
	if err := s.check(name); err != nil {
		return nil, err
	}
	var b []byte
	err := s.call(func(ctx context.Context) (err error) {
		b, err = s.ext.LoadSO(ctx, s.app, s.instance, name)
		return err
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, fs.ErrInvalid):
		return nil, fmt.Errorf("shared object %q: %w: %w", name, ErrBadName, err)
	case err != nil:
		return nil, fmt.Errorf("load shared object %q: %w: %w", name, ErrStoreFailed, err)
	case len(b) == 0:
		return nil, nil
	}
	snap, err := decodeFile(b)
	if err != nil {
		return nil, fmt.Errorf("load shared object %q of %s/%s: %w", name, s.app, s.instance, err)
	}
	return snap, nil
}

// saveExternal is save into ext: writes of the store are serialised, and one older than what
// was written already is skipped.
func (s *Store) saveExternal(name string, seq uint64, data []byte) error {
	if err := s.check(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written[name] >= seq {
		return nil
	}
	err := s.call(func(ctx context.Context) error { return s.ext.SaveSO(ctx, s.app, s.instance, name, data) })
	if err != nil {
		return fmt.Errorf("save shared object %q: %w", name, err)
	}
	s.written[name] = seq
	return nil
}
