package scripting

import (
	"net/http"
	"sync"

	"github.com/fmsgo/fmsgo/scripting/appfs"
	"github.com/fmsgo/fmsgo/scripting/webclient"
)

// DefaultFileQuotaMB is the disk budget of what one app's scripts write through File (all its
// instances) when EngineConfig.FileQuotaMB does not say otherwise.
const DefaultFileQuotaMB = 256

// FilesFunc gives an app instance the file system of its File objects (EngineConfig.Files).
type FilesFunc func(app, dir string) (appfs.FS, error)

// fileQuotas are the engine's per-app File quotas, made on an app's first instance; the bytes
// already in the app folder are counted when the app first writes (appfs.NewLazyQuota).
type fileQuotas struct {
	mu    sync.Mutex
	byApp map[string]*appfs.Quota
}

// fileQuota returns app's quota, making it on first use.
func (e *Engine) fileQuota(app, dir string) *appfs.Quota {
	mb := e.cfg.FileQuotaMB
	if mb == 0 {
		mb = DefaultFileQuotaMB
	}
	if mb < 0 {
		return nil
	}
	fq := &e.fileQuotas
	fq.mu.Lock()
	defer fq.mu.Unlock()
	if fq.byApp == nil {
		fq.byApp = map[string]*appfs.Quota{}
	}
	q := fq.byApp[app]
	if q == nil {
		q = appfs.NewLazyQuota(mb<<20, func() int64 { return appfs.Usage(dir) })
		fq.byApp[app] = q
	}
	return q
}

// instanceFiles makes the file system of an instance's File objects: the origin's (Files), else
// the app folder and the configured virtual directories under the app's quota. An error is
// logged and leaves the instance without files (every File operation fails).
func (inst *instance) instanceFiles() appfs.FS {
	e, app := inst.e, inst.app
	var fsys appfs.FS
	var err error
	if e.cfg.Files != nil {
		fsys, err = e.cfg.Files(app.Name, app.Dir)
	} else {
		fsys, err = appfs.New(app.Dir, e.cfg.VirtualDirs, e.fileQuota(app.Name, app.Dir))
	}
	if err != nil {
		inst.log.Error().Err(err).Msg("no file system for File objects")
		return nil
	}
	return fsys
}

// closeFiles releases the instance's file system (its generations' open files are closed by
// their Apps).
func (inst *instance) closeFiles() {
	if inst.files != nil {
		_ = inst.files.Close()
		inst.files = nil
	}
}

// newWebClient is an instance's HTTP client for LoadVars and XML, over the engine's transport.
func (e *Engine) newWebClient() *webclient.Client {
	return webclient.New(e.transport, e.cfg.HTTP)
}

// newTransport is the engine's HTTP connection pool (one for every instance).
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	return t
}
