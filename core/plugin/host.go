package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Host runs a Selection for one server: it provisions, validates, starts and stops the modules,
// and is what the server's session core asks at each extension point. A nil *Host is valid and
// has no modules (every request goes on to the app, no event goes anywhere).
type Host struct {
	log     zerolog.Logger
	mods    []Module
	ids     []string
	auth    []authModule
	namers  []Namer
	sinks   *eventBus
	storage Storage
	sostore SOStore
	rpc     map[string]RPCService
	started []Module
}

type authModule struct {
	id     string
	a      Authorizer
	budget time.Duration
}

// NewHost provisions and validates every selected module, in order, and sorts them into the
// extension points. A duplicate ID, a failing Provision or Validate, a second storage or
// sostore module, or two rpc services of one name stop it with an error naming the module.
func NewHost(sel Selection, pctx Context) (*Host, error) {
	h := &Host{log: pctx.Log, rpc: map[string]RPCService{}}
	seen := map[string]bool{}
	var sinks []sinkModule
	for _, m := range sel.entries {
		id := m.PluginInfo().ID
		if seen[id] {
			return nil, fmt.Errorf("module %s: selected twice", id)
		}
		seen[id] = true
		if err := provision(m, id, pctx); err != nil {
			return nil, err
		}
		if err := h.sort(m, id, &sinks); err != nil {
			return nil, err
		}
		h.mods, h.ids = append(h.mods, m), append(h.ids, id)
	}
	h.sinks = newEventBus(sinks, pctx.Log)
	return h, nil
}

func provision(m Module, id string, pctx Context) error {
	if p, ok := m.(Provisioner); ok {
		c := pctx
		c.Log = pctx.Log.With().Str("module", id).Logger()
		if c.Ctx == nil {
			c.Ctx = context.Background()
		}
		if err := p.Provision(c); err != nil {
			return fmt.Errorf("module %s: provision: %w", id, err)
		}
	}
	if v, ok := m.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("module %s: invalid config: %w", id, err)
		}
	}
	return nil
}

// sort files m under every extension point it implements; a module implementing none is an
// error (it would do nothing).
func (h *Host) sort(m Module, id string, sinks *[]sinkModule) error {
	n := 0
	if a, ok := m.(Authorizer); ok {
		b := DefaultAuthBudget
		if bd, ok := m.(Budgeted); ok && bd.Budget() > 0 {
			b = bd.Budget()
		}
		h.auth = append(h.auth, authModule{id: id, a: a, budget: b})
		n++
	}
	if nm, ok := m.(Namer); ok {
		h.namers = append(h.namers, nm)
		n++
	}
	if st, ok := m.(Storage); ok {
		if h.storage != nil {
			return fmt.Errorf("module %s: a storage module is already selected", id)
		}
		h.storage = st
		n++
	}
	if so, ok := m.(SOStore); ok {
		if h.sostore != nil {
			return fmt.Errorf("module %s: a sostore module is already selected", id)
		}
		h.sostore = so
		n++
	}
	if es, ok := m.(EventSink); ok {
		q := DefaultEventQueue
		if eq, ok := m.(EventQueued); ok && eq.EventQueueLen() > 0 {
			q = eq.EventQueueLen()
		}
		linger := DefaultEventLinger
		if el, ok := m.(EventLingerer); ok && el.EventLinger() > 0 {
			linger = min(el.EventLinger(), MaxEventLinger)
		}
		*sinks = append(*sinks, sinkModule{id: id, sink: es, queue: q, linger: linger})
		n++
	}
	if r, ok := m.(RPCService); ok {
		if _, dup := h.rpc[r.RPCName()]; dup {
			return fmt.Errorf("module %s: rpc name %q is already taken", id, r.RPCName())
		}
		h.rpc[r.RPCName()] = r
		n++
	}
	if n == 0 {
		return fmt.Errorf("module %s: implements no extension point", id)
	}
	return nil
}

// Start starts the modules that have something to start, then the event delivery. On an error
// the modules started so far are stopped.
func (h *Host) Start(ctx context.Context) error {
	if h == nil {
		return nil
	}
	for i, m := range h.mods {
		if s, ok := m.(Starter); ok {
			if err := s.Start(); err != nil {
				h.stopStarted()
				return fmt.Errorf("module %s: start: %w", h.ids[i], err)
			}
		}
		h.started = append(h.started, m)
	}
	h.sinks.start(ctx)
	return nil
}

// Stop delivers the events still queued (within ctx), then stops every started module in
// reverse order; their errors are joined.
func (h *Host) Stop(ctx context.Context) error {
	if h == nil {
		return nil
	}
	h.sinks.stop(ctx)
	return h.stopStarted()
}

func (h *Host) stopStarted() error {
	var errs []error
	for i := len(h.started) - 1; i >= 0; i-- {
		if s, ok := h.started[i].(Stopper); ok {
			if err := s.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("module %s: stop: %w", h.started[i].PluginInfo().ID, err))
			}
		}
	}
	h.started = nil
	return errors.Join(errs...)
}

// IDs lists the host's modules in config order.
func (h *Host) IDs() []string {
	if h == nil {
		return nil
	}
	return append([]string(nil), h.ids...)
}

// Storage is the storage module (nil if none is selected).
func (h *Host) Storage() Storage {
	if h == nil {
		return nil
	}
	return h.storage
}

// SOStore is the sostore module (nil if none is selected: the server's default applies).
func (h *Host) SOStore() SOStore {
	if h == nil {
		return nil
	}
	return h.sostore
}

// RPC returns the rpc services by name.
func (h *Host) RPC() map[string]RPCService {
	if h == nil {
		return nil
	}
	return h.rpc
}
