// Package webhook is the events.webhook module: it POSTs the server's events (connect,
// publish, play, their ends, disconnect, app events) as JSON to the URLs of its config, so that
// an operator's own service learns what happens on the origin without polling it.
//
// Delivery. Each URL has its own goroutine and posts one batch at a time, so the events reach
// a URL in the order they were emitted (the order of each session's events is kept). A POST's
// body is always a JSON array of 1..batch_max event objects, oldest first. An event after a
// quiet spell is posted at once; within batch_wait (50 ms) of the end of the last POST, the
// next one gathers what comes until batch_wait has passed or batch_max is reached, so that a
// burst (a thousand clients connecting) costs few POSTs, not one per event. A failed
// POST (network error, timeout, 408, 429 or 5xx) is retried up to attempts times in all, waiting
// backoff, then twice as long each time (at most 30 s); any other non-2xx answer, a redirect
// included, is not retried. Delivery is at least once: a receiver that answered too late may
// see a batch twice (seq and time identify an event).
//
// A receiver that hangs never delays the server: the module takes events at the pace of its
// slowest URL, and what it cannot take waits in, then is dropped from, the queue the server
// keeps for each events module (queue events; the drops are counted in the server's event
// statistics and logged as periodic counts). Stop delivers what is left with one attempt per
// batch and returns within timeout.
//
// With secret (or secret_file), each POST carries X-Fmsgo-Signature: sha256=HEX, the
// HMAC-SHA256 of the body under the secret, so that the receiver can check the body came from
// this server. See Payload for the fields of an event.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// ID is the module's ID in the config ([modules."events.webhook"]).
const ID = "events.webhook"

// The defaults of the config fields left out.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultAttempts  = 3
	DefaultBackoff   = 500 * time.Millisecond
	DefaultBatchMax  = 500 // ~225 KB a POST: a connect storm of 6,000/s costs ~25 POSTs a second
	DefaultBatchWait = 50 * time.Millisecond
	maxBackoff       = 30 * time.Second
)

func init() {
	plugin.Register(plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }})
}

// Module is the events.webhook module; its exported fields are its config table.
type Module struct {
	// URLs receive every event (http or https).
	URLs []string `toml:"urls"`
	// Secret, when set, signs each body (X-Fmsgo-Signature). SecretFile reads it from a file
	// instead (relative to the config file's folder; surrounding white space trimmed).
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	// Timeout bounds one POST (and Stop); Attempts is how many POSTs a batch gets in all;
	// Backoff is the wait before the first retry, doubled for each next one.
	Timeout  time.Duration `toml:"timeout"`
	Attempts int           `toml:"attempts"`
	Backoff  time.Duration `toml:"backoff"`
	// BatchMax is the most events one POST carries. BatchWait is the least time between the end
	// of a POST and the start of the next while the batch is not full: an event after a quiet
	// spell goes out at once, a burst is gathered (0: post what is queued at once).
	BatchMax  int           `toml:"batch_max"`
	BatchWait time.Duration `toml:"batch_wait"`
	// Queue is the length of the queue the server keeps for the module (default
	// plugin.DefaultEventQueue).
	Queue int `toml:"queue"`

	log       zerolog.Logger
	secret    []byte
	transport *http.Transport
	client    *http.Client
	targets   []*target
	ctx       context.Context // ends at Stop's deadline: in-flight POSTs are abandoned
	cancel    context.CancelFunc
	stopC     chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
	lost      atomic.Uint64 // events HandleEvent could not hand to a URL at shutdown
}

var (
	_ plugin.EventSink   = (*Module)(nil)
	_ plugin.EventQueued = (*Module)(nil)
	_ plugin.Provisioner = (*Module)(nil)
	_ plugin.Validator   = (*Module)(nil)
	_ plugin.Starter     = (*Module)(nil)
	_ plugin.Stopper     = (*Module)(nil)
)

// PluginInfo registers the module as events.webhook.
func (m *Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }}
}

// EventQueueLen is the server-side queue length the module asks for (queue).
func (m *Module) EventQueueLen() int { return m.Queue }

// Provision fills in the defaults and reads secret_file.
func (m *Module) Provision(pctx plugin.Context) error {
	m.log = pctx.Log
	if m.Timeout == 0 {
		m.Timeout = DefaultTimeout
	}
	if m.Attempts == 0 {
		m.Attempts = DefaultAttempts
	}
	if m.Backoff == 0 {
		m.Backoff = DefaultBackoff
	}
	if m.BatchMax == 0 {
		m.BatchMax = DefaultBatchMax
	}
	if m.BatchWait == 0 {
		m.BatchWait = DefaultBatchWait
	}
	if m.Queue == 0 {
		m.Queue = plugin.DefaultEventQueue
	}
	m.secret = []byte(m.Secret)
	if m.SecretFile != "" {
		p := m.SecretFile
		if !filepath.IsAbs(p) && pctx.ConfigDir != "" {
			p = filepath.Join(pctx.ConfigDir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("secret_file: %w", err)
		}
		m.secret = []byte(strings.TrimSpace(string(b)))
	}
	return nil
}

// Validate checks the URLs and the bounds.
func (m *Module) Validate() error {
	if len(m.URLs) == 0 {
		return errors.New("urls: at least one URL is needed")
	}
	for _, raw := range m.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("urls: %q is not an http or https URL", redactURL(raw))
		}
	}
	switch {
	case m.Secret != "" && m.SecretFile != "":
		return errors.New("secret and secret_file: choose one")
	case m.SecretFile != "" && len(m.secret) == 0:
		return errors.New("secret_file: the file is empty")
	case m.Timeout < 0 || m.Backoff < 0 || m.BatchWait < 0:
		return errors.New("timeout, backoff and batch_wait must not be negative")
	case m.Attempts < 1 || m.Attempts > 100:
		return fmt.Errorf("attempts: %d is not within 1..100", m.Attempts)
	case m.BatchMax < 1 || m.BatchMax > 10000:
		return fmt.Errorf("batch_max: %d is not within 1..10000", m.BatchMax)
	case m.Queue < 0:
		return errors.New("queue must not be negative")
	}
	return nil
}

// Start makes the HTTP client and one delivery goroutine per URL.
func (m *Module) Start() error {
	m.transport = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: m.Timeout,
		ForceAttemptHTTP2:   true,
	}
	m.client = &http.Client{
		Transport:     m.transport,
		Timeout:       m.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.stopC = make(chan struct{})
	for _, u := range m.URLs {
		t := newTarget(m, u)
		m.targets = append(m.targets, t)
		m.wg.Add(1)
		go t.run()
	}
	return nil
}

// HandleEvent encodes ev once and hands it to every URL's goroutine, waiting while one is
// behind (the server's queue for the module absorbs that, then drops) until Stop. It does not
// give up when ctx ends: the server cancels it when its shutdown begins, and the events of the
// sessions it drains are still worth delivering; the server's bounded wait for the modules'
// delivery, then Stop, bound the wait.
func (m *Module) HandleEvent(_ context.Context, ev *plugin.Event) {
	body := encodeEvent(ev)
	for _, t := range m.targets {
		select {
		case t.q <- body:
			continue
		default:
		}
		select {
		case t.full <- struct{}{}:
		default:
		}
		select {
		case t.q <- body:
		case <-m.stopC:
			m.lost.Add(1)
		}
	}
}

// Stop delivers what the URLs' goroutines still hold (one attempt per batch) and returns within
// timeout, abandoning what is still in flight then.
func (m *Module) Stop() error {
	if m.stopC == nil {
		return nil
	}
	m.stopOnce.Do(func() { close(m.stopC) })
	deadline := time.AfterFunc(m.Timeout, m.cancel)
	m.wg.Wait()
	deadline.Stop()
	m.cancel()
	m.transport.CloseIdleConnections()
	st := m.Stats()
	if st.Failed > 0 || st.Lost > 0 {
		m.log.Warn().Uint64("delivered", st.Delivered).Uint64("failed", st.Failed).Uint64("lost_at_stop", st.Lost).Msg("webhook: stopped with undelivered events")
	}
	return nil
}

// Stats are the module's counters, summed over its URLs.
type Stats struct {
	// Delivered events were answered 2xx; Failed ones were given up after their attempts (or
	// refused by the receiver); Lost ones were still waiting for a URL at shutdown.
	Delivered, Failed, Lost uint64
	// Posts is how many POSTs were made, retries included.
	Posts uint64
}

// Stats returns the counters (for tests and metrics).
func (m *Module) Stats() Stats {
	s := Stats{Lost: m.lost.Load()}
	for _, t := range m.targets {
		s.Delivered += t.delivered.Load()
		s.Failed += t.failed.Load()
		s.Posts += t.posts.Load()
	}
	return s
}
