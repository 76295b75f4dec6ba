package origin

import (
	"path/filepath"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/localstorage"
)

// storageOf is the origin's storage: the selected storage module, else storage.local over
// DATA/media (defaultStorage).
func storageOf(host *plugin.Host, cfg Config) plugin.Storage {
	if st := host.Storage(); st != nil {
		return st
	}
	return defaultStorage(cfg)
}

// defaultStorage is storage.local over DATA/media, made when the first file is written; nil
// for an origin without a data folder.
func defaultStorage(cfg Config) plugin.Storage {
	if cfg.Data == "" {
		return nil
	}
	st, err := localstorage.New(filepath.Join(cfg.Data, "media"))
	if err != nil {
		return nil // no working directory to resolve a relative -data against
	}
	return st
}
