package origin

import (
	"path/filepath"
	"sort"

	"github.com/fmsgo/fmsgo/scripting/appfs"
)

// virtualDirs is the config's virtual_directories as the engine takes them: relative folders
// resolved against the config file's folder, in prefix order (a stable config gives a stable
// mapping; the engine checks the prefixes and folders).
func virtualDirs(cfg Config) []appfs.VirtualDir {
	var out []appfs.VirtualDir
	for prefix, dir := range cfg.VirtualDirectories {
		if !filepath.IsAbs(dir) && cfg.ConfigDir != "" {
			dir = filepath.Join(cfg.ConfigDir, dir)
		}
		out = append(out, appfs.VirtualDir{Prefix: prefix, Dir: dir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix < out[j].Prefix })
	return out
}
