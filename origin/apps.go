package origin

import (
	"sync"

	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/origin/session"
	"github.com/rs/zerolog"
)

// errUnknownApp rejects a connect to an app with no folder.
var errUnknownApp = session.ErrUnknownApp

// instance is one running application instance (APP/INSTANCE): its stream hub, and the count of
// sessions using it so that an empty instance can be unloaded.
type instance struct {
	target Target
	hub    *live.Hub
	log    zerolog.Logger
	users  int
}

// appRegistry maps "APP/INSTANCE" to running instances. Lookups happen once per connect (never
// per message), so one small lock is enough.
type appRegistry struct {
	dir       string
	liveCfg   live.Config
	exists    func(app string) bool // Engine.AppExists
	log       zerolog.Logger
	mu        sync.Mutex
	instances map[string]*instance
}

func newAppRegistry(dir string, liveCfg live.Config, log zerolog.Logger) *appRegistry {
	return &appRegistry{dir: dir, liveCfg: liveCfg, log: log, instances: make(map[string]*instance)}
}

// acquire returns the instance for t, starting it if needed, and counts one more user. Whether
// the app exists is the engine's answer (the one place that knows the apps folder).
func (r *appRegistry) acquire(t Target) (*instance, error) {
	if r.exists != nil && !r.exists(t.App) {
		return nil, errUnknownApp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := t.Name()
	in := r.instances[key]
	if in == nil {
		l := r.log.With().Str("app", t.App).Str("instance", t.Instance).Logger()
		in = &instance{target: t, log: l, hub: live.NewHub(r.liveCfg, l)}
		r.instances[key] = in
		l.Info().Msg("instance started")
	}
	in.users++
	return in, nil
}

// Acquire implements session.Apps.
func (r *appRegistry) Acquire(t Target) (*live.Hub, func(), error) {
	in, err := r.acquire(t)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return in.hub, func() { once.Do(func() { r.release(in) }) }, nil
}

// release drops one user; the last one unloads the instance.
func (r *appRegistry) release(in *instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in.users--; in.users > 0 {
		return
	}
	delete(r.instances, in.target.Name())
	in.hub.Close()
	in.log.Info().Msg("instance unloaded")
}

func (r *appRegistry) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, in := range r.instances {
		in.hub.Close()
		delete(r.instances, k)
	}
}

// hasPublisher reports whether APP/INSTANCE has a live publisher of name (tests, stats).
func (s *Server) hasPublisher(app, inst, name string) bool {
	s.apps.mu.Lock()
	in := s.apps.instances[app+"/"+inst]
	s.apps.mu.Unlock()
	if in == nil {
		return false
	}
	for _, st := range in.hub.Streams() {
		if st.Name == name && st.Publishing {
			return true
		}
	}
	return false
}

func (s *Server) streamInfo(app, name string) (info live.StreamInfo, ok bool) {
	s.apps.mu.Lock()
	in := s.apps.instances[app+"/"+DefaultInstance]
	s.apps.mu.Unlock()
	if in == nil {
		return info, false
	}
	for _, st := range in.hub.Streams() {
		if st.Name == name {
			return st, true
		}
	}
	return info, false
}

func (s *Server) streamBytes(app, name string) uint64 {
	st, _ := s.streamInfo(app, name)
	return st.BytesIn
}

func (s *Server) subscriberCount(app, name string) int {
	st, _ := s.streamInfo(app, name)
	return st.Subscribers
}
