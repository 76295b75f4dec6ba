package scripting

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// ErrRefused is wrapped by the Connect errors that refuse to start a new instance (instance caps,
// the app's instancePattern, the per-address creation rate). Its text is meant for the client:
// the origin answers NetConnection.Connect.Rejected with it as the description, directly and
// through an edge.
var ErrRefused = errors.New("connect refused")

// Defaults of InstanceLimits' zero fields. One instance costs about 0.6 MiB (its goja runtime
// and loop goroutine) before its script keeps anything, so 1,000 instances are ~600 MiB of bare
// runtimes, what a modest origin can hold; 100 per app keeps one app (or one client spraying one
// app's instance names) to a tenth of that. 10 new instances a second per address, with a burst
// of 20, is far beyond what one viewer or one encoder needs (a room switch is one instance), and
// keeps one address from filling the caps in less than ten seconds.
const (
	DefaultMaxInstances        = 1000
	DefaultMaxInstancesPerApp  = 100
	DefaultInstanceCreateRate  = 10.0
	DefaultInstanceCreateBurst = 20
	// MaxNameLen caps "APP/INSTANCE" (the origin checks it when it parses a connect).
	MaxNameLen = 255
)

// InstanceLimits bound how many app instances the engine runs and how fast one client address
// may make new ones. Zero fields take the defaults above; a negative Max or MaxPerApp, or a
// negative CreateRate, means no limit.
type InstanceLimits struct {
	Max         int     // process-wide
	MaxPerApp   int     // for apps whose app.json does not say maxInstances
	CreateRate  float64 // new instances per second per client address (token bucket refill)
	CreateBurst int     // bucket size
}

func (l *InstanceLimits) setDefaults() {
	if l.Max == 0 {
		l.Max = DefaultMaxInstances
	}
	if l.MaxPerApp == 0 {
		l.MaxPerApp = DefaultMaxInstancesPerApp
	}
	if l.CreateRate == 0 {
		l.CreateRate = DefaultInstanceCreateRate
	}
	if l.CreateBurst <= 0 {
		l.CreateBurst = DefaultInstanceCreateBurst
	}
}

// admit decides whether a client at ip may start the new instance app/instName; nil means yes,
// and then one creation token of ip has been spent. Called with e.mu held.
func (e *Engine) admit(app *App, instName, ip string) error {
	cfg := app.Config
	if !cfg.InstanceAllowed(instName) {
		return fmt.Errorf("%w: instance name %q is not allowed by application %s", ErrRefused, instName, app.Name)
	}
	lim := e.cfg.Instances
	perApp := lim.MaxPerApp
	if cfg.MaxInstances > 0 {
		perApp = cfg.MaxInstances
	}
	// At a cap, the instance idle the longest (of this app, for the app's cap) makes room.
	var victim *instance
	switch {
	case perApp > 0 && e.perApp[app.Name] >= perApp:
		if victim = e.idleVictim(app.Name); victim == nil {
			return fmt.Errorf("%w: application %s runs its maximum of %d instances", ErrRefused, app.Name, perApp)
		}
	case lim.Max > 0 && len(e.instances) >= lim.Max:
		if victim = e.idleVictim(""); victim == nil {
			return fmt.Errorf("%w: the server runs its maximum of %d application instances", ErrRefused, lim.Max)
		}
	}
	if lim.CreateRate > 0 && !e.creations.take(addrKey(ip), time.Now()) {
		return fmt.Errorf("%w: too many new instances from this address; try again later", ErrRefused)
	}
	if victim != nil {
		e.evict(victim)
	}
	return nil
}

// idleVictim returns the instance (of app, or of any app when app is "") idle the longest, or
// nil when every one has clients or a connection on its way. Called with e.mu held.
func (e *Engine) idleVictim(app string) *instance {
	var victim *instance
	for _, in := range e.instances {
		if in.refs > 0 || in.idleSince.IsZero() || (app != "" && in.appName != app) {
			continue
		}
		if victim == nil || in.idleSince.Before(victim.idleSince) {
			victim = in
		}
	}
	return victim
}

// evict unloads an idle instance ahead of its idleUnloadSeconds, to make room at a cap. Its
// persistent shared objects are written first, so that the same name started again reads them;
// what its own timers change after that, before its unload job runs, is written at its unload
// and may race such a restart. Called with e.mu held.
func (e *Engine) evict(inst *instance) {
	if err := inst.so.Flush(); err != nil {
		inst.log.Error().Err(err).Msg("shared objects not all written before the eviction")
	}
	delete(e.instances, inst.name)
	if e.perApp[inst.appName]--; e.perApp[inst.appName] <= 0 {
		delete(e.perApp, inst.appName)
	}
	inst.idleSince = time.Time{}
	e.counters.evicted.Add(1)
	inst.post(func() { inst.unload("Application.Shutdown", "idle instance unloaded to make room at the instance cap") })
}

// addrKey groups client addresses for the creation rate: an IPv4 address alone, an IPv6 address
// by its /64 (one host usually owns a whole /64).
func addrKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// maxBuckets bounds the per-address creation state. Past it, buckets that have refilled are
// dropped (a full bucket is what a new address gets anyway); if none has, new addresses share one
// overflow bucket, so that many addresses together still cannot create faster than one.
const maxBuckets = 4096

// bucket is one address's creation tokens at the time of its last update.
type bucket struct {
	tokens float64
	at     time.Time
}

// buckets is the per-address token buckets of instance creation; guarded by Engine.mu.
type buckets struct {
	rate  float64
	burst float64
	m     map[string]*bucket
	over  bucket // shared by the addresses that found the table full
}

func newBuckets(rate float64, burst int) buckets {
	return buckets{rate: rate, burst: float64(burst), m: map[string]*bucket{},
		over: bucket{tokens: float64(burst)}}
}

// take spends one token of key at now; false when its bucket is empty.
func (b *buckets) take(key string, now time.Time) bool {
	bk := b.m[key]
	if bk == nil {
		if len(b.m) >= maxBuckets {
			b.prune(now)
		}
		if len(b.m) >= maxBuckets {
			bk = &b.over
		} else {
			bk = &bucket{tokens: b.burst, at: now}
			b.m[key] = bk
		}
	}
	b.refill(bk, now)
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
}

func (b *buckets) refill(bk *bucket, now time.Time) {
	if !bk.at.IsZero() {
		bk.tokens = min(b.burst, bk.tokens+now.Sub(bk.at).Seconds()*b.rate)
	}
	bk.at = now
}

// prune drops the buckets that are full again.
func (b *buckets) prune(now time.Time) {
	for k, bk := range b.m {
		b.refill(bk, now)
		if bk.tokens >= b.burst {
			delete(b.m, k)
		}
	}
}

// Defaults of Containment's zero fields: an instance may keep about as much as one callback may
// grow (memoryLimitMB's default), and hold half a core over ten seconds (a busy chat room or game
// lobby uses a few percent).
const (
	DefaultInstanceMemoryLimitMB = 256
	DefaultCPUShare              = 0.5
	DefaultCPUWindow             = 10 * time.Second
)

// Containment is the server's default for the bounds across callbacks (jsloop/contain.go), which
// app.json's instanceMemoryLimitMB, cpuShare and cpuWindowMs override per app. Zero fields take
// the defaults above; negative ones turn the bound off.
type Containment struct {
	InstanceMemoryLimitMB int
	CPUShare              float64
	CPUWindow             time.Duration
}

func (c *Containment) setDefaults() {
	if c.InstanceMemoryLimitMB == 0 {
		c.InstanceMemoryLimitMB = DefaultInstanceMemoryLimitMB
	}
	if c.CPUShare == 0 {
		c.CPUShare = DefaultCPUShare
	}
	if c.CPUWindow == 0 {
		c.CPUWindow = DefaultCPUWindow
	}
}

// containFor is the bounds of one app's instances: its app.json where set, else the server's.
func (c Containment) containFor(cfg AppConfig) (retained uint64, share float64, window time.Duration) {
	mb, share, window := c.InstanceMemoryLimitMB, c.CPUShare, c.CPUWindow
	if cfg.InstanceMemoryLimitMB != 0 {
		mb = cfg.InstanceMemoryLimitMB
	}
	if cfg.CPUShare != 0 {
		share = cfg.CPUShare
	}
	if cfg.CPUWindowMs != 0 {
		window = time.Duration(cfg.CPUWindowMs) * time.Millisecond
	}
	if mb > 0 {
		retained = uint64(mb) << 20
	}
	return retained, max(share, 0), max(window, 0)
}

// engineCounters are the engine's event counts for Stats; safe from any goroutine.
type engineCounters struct {
	refused, evicted, memory, cpu atomic.Uint64
}

// EngineStats are the engine's figures for /metrics.
type EngineStats struct {
	Instances int    // loaded now
	Idle      int    // of which served clients and have none now
	Refused   uint64 // new instances refused (caps, instancePattern, creation rate)
	Evicted   uint64 // idle instances unloaded early to make room at a cap
	// Instances unloaded for memory (one callback's growth, or the retained heap) and for CPU.
	UnloadedMemory, UnloadedCPU uint64
}

// Stats reports the engine's figures.
func (e *Engine) Stats() EngineStats {
	st := EngineStats{Refused: e.counters.refused.Load(), Evicted: e.counters.evicted.Load(),
		UnloadedMemory: e.counters.memory.Load(), UnloadedCPU: e.counters.cpu.Load()}
	e.mu.Lock()
	defer e.mu.Unlock()
	st.Instances = len(e.instances)
	for _, in := range e.instances {
		if !in.idleSince.IsZero() {
			st.Idle++
		}
	}
	return st
}

// countFatal counts an instance ended by its loop for its resources.
func (e *Engine) countFatal(err error) {
	switch {
	case errors.Is(err, jsloop.ErrMemoryLimit), errors.Is(err, jsloop.ErrRetainedLimit):
		e.counters.memory.Add(1)
	case errors.Is(err, jsloop.ErrCPUShare):
		e.counters.cpu.Add(1)
	}
}
