package scripting

import (
	"context"
	"sync"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// DefaultSharedObjectDiskQuotaMB is the disk budget of one app's persistent shared objects
// (all its instances) when neither app.json's sharedObjects.diskQuotaMB nor the server's
// configuration says otherwise: room for a few full-size objects (16 MiB each by default).
const DefaultSharedObjectDiskQuotaMB = 64

// soQuotas are the engine's per-app disk quotas. Each is made once per app per process, on the
// first connect to the app, by summing the app's object files under the data folder (outside
// the engine's lock); instances of the app started later share it.
type soQuotas struct {
	mu    sync.Mutex
	byApp map[string]*appQuota
}

type appQuota struct {
	once sync.Once
	q    *sharedobject.DiskQuota
}

// diskQuota returns app's quota with its limit set from app.json's limitMB (0: the engine's
// default; a negative engine default: no limit), making it on first use.
func (e *Engine) diskQuota(app string, limitMB int64) *sharedobject.DiskQuota {
	q := e.appQuota(app)
	q.SetLimit(e.quotaBytes(limitMB))
	return q
}

// appQuota returns app's quota, making it on first use from the size of the app's object
// files (its limit is set by the instance that uses it).
func (e *Engine) appQuota(app string) *sharedobject.DiskQuota {
	qs := &e.quotas
	qs.mu.Lock()
	if qs.byApp == nil {
		qs.byApp = map[string]*appQuota{}
	}
	aq := qs.byApp[app]
	if aq == nil {
		aq = &appQuota{}
		qs.byApp[app] = aq
	}
	qs.mu.Unlock()
	aq.once.Do(func() {
		used, err := e.soUsage(app)
		if err != nil {
			e.log.Error().Err(err).Str("app", app).Msg("shared objects not all counted for the disk quota")
		}
		aq.q = sharedobject.NewDiskQuota(e.quotaBytes(0), used)
	})
	return aq.q
}

// soUsage is what app's persistent shared objects take in the store: its files under the data
// folder, or what a sostore module says (plugin.SOUsage; 0 if it cannot tell).
func (e *Engine) soUsage(app string) (int64, error) {
	if st := e.cfg.SOStore; st != nil {
		u, ok := st.(plugin.SOUsage)
		if !ok {
			return 0, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), soStoreBudget(st))
		defer cancel()
		return u.SOUsage(ctx, app)
	}
	dir, err := sharedobject.AppDir(e.cfg.DataDir, app)
	if err != nil {
		return 0, nil // no store can be made for the app: nothing to count
	}
	return sharedobject.DiskUsage(dir)
}

// quotaBytes resolves an app's diskQuotaMB against the engine's default.
func (e *Engine) quotaBytes(appMB int64) int64 {
	mb := appMB
	if mb <= 0 {
		mb = e.cfg.SharedObjectDiskQuotaMB
	}
	if mb == 0 {
		mb = DefaultSharedObjectDiskQuotaMB
	}
	if mb < 0 {
		return 0 // no limit
	}
	return mb << 20
}

// prepareQuota makes app's quota ahead of its first instance, so that the disk walk runs on the
// connecting goroutine and not under the engine's lock. Without a store there is none.
func (e *Engine) prepareQuota(app string) {
	if e.cfg.DataDir != "" || e.cfg.SOStore != nil {
		e.appQuota(app)
	}
}
