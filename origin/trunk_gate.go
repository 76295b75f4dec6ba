package origin

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/rs/zerolog"
)

// trunkGate guards the trunk listener before authentication. At most maxPending handshakes run
// at a time (perAddr of them from one address), so sockets that never authenticate hold a few
// small buffers and nothing else; an address whose handshakes keep failing authentication is
// refused for a period that doubles with every further failure. Its state is per address,
// bounded by maxAddrs, and owned by the server (one per origin); the lock is held for a few map
// operations per trunk connection, never per frame.
type trunkGate struct {
	// policy (newTrunkGate; docs/trunk.md "Before authentication" states the figures)
	maxPending, perAddr, freeFailures, maxAddrs int
	lockBase, lockMax, logEvery                 time.Duration

	mu      sync.Mutex
	pending int
	addrs   map[string]*gateAddr
	refused uint64 // connections refused by the gate (busy or locked out), for metrics
	authBad uint64 // handshakes that failed authentication, for metrics
}

// gateAddr is what the gate knows about one remote address.
type gateAddr struct {
	pending     int       // handshakes in progress
	failures    int       // authentication failures since the last success
	lastFailure time.Time // forgotten once older than lockMax
	lockedUntil time.Time
	lastLog     time.Time // last warn line about this address
	quiet       int       // failures not logged at warn since lastLog
}

// Gate refusals; their text is sent to the refused peer in an error frame.
var (
	errTrunkBusy   = errors.New("too many trunk handshakes in progress")
	errTrunkLocked = errors.New("too many failed trunk authentications from this address: retry later")
)

// newTrunkGate is the origin's gate with the documented policy: 64 handshakes at once, 8 per
// address; after 3 failed authentications an address is refused for 2 s, doubling per further
// failure up to 5 minutes; state for at most 4096 addresses; a warn line per address per 10 s.
func newTrunkGate() *trunkGate {
	return &trunkGate{maxPending: 64, perAddr: 8, freeFailures: 3, maxAddrs: 4096,
		lockBase: 2 * time.Second, lockMax: 5 * time.Minute, logEvery: 10 * time.Second,
		addrs: map[string]*gateAddr{}}
}

// admit reserves a handshake slot for ip, or says why not. A reserved slot is given back by done.
func (g *trunkGate) admit(ip string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.addrs[ip]
	switch {
	case a != nil && now.Before(a.lockedUntil):
		g.refused++
		return fmt.Errorf("%w (for %s)", errTrunkLocked, a.lockedUntil.Sub(now).Round(time.Second))
	case g.pending >= g.maxPending || (a != nil && a.pending >= g.perAddr):
		g.refused++
		return errTrunkBusy
	}
	if a == nil {
		a = g.insert(ip, now)
	}
	a.pending++
	g.pending++
	return nil
}

// insert adds ip, first making room: entries with nothing pending whose last failure is old are
// dropped, then, if the table is still full, any entry with nothing pending.
func (g *trunkGate) insert(ip string, now time.Time) *gateAddr {
	if len(g.addrs) >= g.maxAddrs {
		g.sweep(now, false)
	}
	if len(g.addrs) >= g.maxAddrs {
		g.sweep(now, true)
	}
	a := &gateAddr{}
	g.addrs[ip] = a
	return a
}

func (g *trunkGate) sweep(now time.Time, all bool) {
	for ip, a := range g.addrs {
		if a.pending == 0 && (all || now.Sub(a.lastFailure) > g.lockMax) {
			delete(g.addrs, ip)
			if all && len(g.addrs) < g.maxAddrs {
				return
			}
		}
	}
}

// done gives back ip's slot with the handshake's outcome: a success forgets the address's
// failures, an authentication failure counts toward a lockout. Failures are logged at warn at
// most once per logEvery per address (with the number not logged since), and every lockout once.
func (g *trunkGate) done(ip string, err error, log zerolog.Logger, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending--
	a := g.addrs[ip]
	if a == nil {
		return
	}
	a.pending--
	if err == nil {
		if a.pending == 0 {
			delete(g.addrs, ip)
		} else {
			a.failures = 0
		}
		return
	}
	if errors.Is(err, trunk.ErrAuth) {
		g.failed(a, now, err, log)
		return
	}
	g.logFailure(a, now, err, log)
}

func (g *trunkGate) failed(a *gateAddr, now time.Time, err error, log zerolog.Logger) {
	g.authBad++
	if now.Sub(a.lastFailure) > g.lockMax {
		a.failures = 0
	}
	a.failures++
	a.lastFailure = now
	if a.failures < g.freeFailures {
		g.logFailure(a, now, err, log)
		return
	}
	lock := g.lockBase << min(a.failures-g.freeFailures, 20)
	if lock > g.lockMax || lock <= 0 {
		lock = g.lockMax
	}
	a.lockedUntil = now.Add(lock)
	log.Warn().Err(err).Int("failures", a.failures).Dur("locked_for", lock).
		Msg("trunk authentication failed repeatedly: address locked out")
	a.lastLog, a.quiet = now, 0
}

func (g *trunkGate) logFailure(a *gateAddr, now time.Time, err error, log zerolog.Logger) {
	if now.Sub(a.lastLog) < g.logEvery {
		a.quiet++
		log.Debug().Err(err).Msg("trunk handshake failed")
		return
	}
	log.Warn().Err(err).Int("not_logged_since", a.quiet).Msg("trunk handshake failed")
	a.lastLog, a.quiet = now, 0
}

// counts are the connections the gate refused and the failed authentications, for /metrics.
func (g *trunkGate) counts() (refused, authFailed uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused, g.authBad
}

// hostOf is the IP of "ip:port" (the whole string when it has no port).
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
