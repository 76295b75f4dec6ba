package scripting

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// ignoredName reports editor and tool droppings that never count as a change: dot files (vim
// swap .x.swp, emacs lock .#x, atomic-save temps .x.tmp), backups (x~), vim's 4913 probe, emacs
// autosaves (#x#) and JetBrains' x___jb_tmp___ / x___jb_old___. An atomic save still counts: its
// final rename creates the real name.
func ignoredName(base string) bool {
	return base == "" || base[0] == '.' || base[0] == '#' || strings.HasSuffix(base, "~") ||
		base == "4913" || strings.Contains(base, "___jb_")
}

// relevantFile reports whether a change to rel (a path below the apps folder: NAME/...) is a
// change of the app's code or configuration.
func relevantFile(rel string) bool {
	base := filepath.Base(rel)
	if ignoredName(base) {
		return false
	}
	switch strings.ToLower(filepath.Ext(base)) {
	case ".js", ".asc":
		return true
	}
	return base == "app.json" && filepath.Dir(rel) != "." && filepath.Dir(filepath.Dir(rel)) == "."
}

// appOf splits a path below the apps folder into the app name and the relative path; ok is
// false outside the folder, for the folder itself, and for dot-folders and invalid names.
func (w *Watcher) appOf(path string) (app, rel string, ok bool) {
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", false
	}
	app, _, _ = strings.Cut(rel, string(filepath.Separator))
	return app, rel, ValidAppName(app)
}

// handle turns one fsnotify event into pending app reports.
func (w *Watcher) handle(ev fsnotify.Event) {
	if ev.Op&^fsnotify.Chmod == 0 {
		return // README: Chmod is noise (and a remove shows as Chmod until the last fd closes)
	}
	path := filepath.Clean(ev.Name)
	for app := range w.tracked[path] {
		w.touch(app)
	}
	app, rel, ok := w.appOf(path)
	if !ok {
		return
	}
	topLevel := !strings.ContainsRune(rel, filepath.Separator)
	if ev.Has(fsnotify.Create) {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			if !ignoredName(filepath.Base(path)) && (w.addTree(path) || topLevel) {
				w.touch(app)
			}
			return
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.dirs[path] || (topLevel && w.known[app]) {
			w.dropTree(path)
			w.touch(app)
			return
		}
	}
	if !topLevel && relevantFile(rel) {
		w.touch(app)
	}
}

// addTree watches dir and every folder below it (dot-folders excepted). Files may have been
// written before the watch existed, so it reports whether it found any relevant file.
func (w *Watcher) addTree(dir string) (found bool) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile: its Remove event follows
		}
		if !d.IsDir() {
			if rel, err := filepath.Rel(w.root, p); err == nil && relevantFile(rel) {
				found = true
			}
			return nil
		}
		if p != dir && ignoredName(d.Name()) {
			return filepath.SkipDir
		}
		if !w.dirs[p] {
			if err := w.watchDir(p); err != nil {
				w.log.Error().Err(err).Str("dir", p).Msg("cannot watch folder")
				return nil
			}
			w.dirs[p] = true
		}
		return nil
	})
	return found
}

// dropTree forgets the watches of a removed or renamed folder and of the folders below it.
func (w *Watcher) dropTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range w.dirs {
		if d == dir || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			if w.fw != nil {
				_ = w.fw.Remove(d) // already gone for a deleted folder
			}
		}
	}
}

// scanRoot watches every app folder and returns the apps present.
func (w *Watcher) scanRoot() []string {
	names, errs := ListApps(w.root)
	for _, err := range errs {
		w.log.Warn().Err(err).Msg("skipping app folder")
	}
	for _, n := range names {
		w.addTree(filepath.Join(w.root, n))
	}
	return names
}

// rescanAll re-reads the apps folder and schedules a check of every app, present or gone.
func (w *Watcher) rescanAll() {
	present := make(map[string]bool)
	for _, n := range w.scanRoot() {
		present[n] = true
		w.touchRescan(n)
	}
	for app := range w.known {
		if !present[app] {
			w.touchRescan(app)
		}
	}
}

// watchDir adds dir to fsnotify (nothing without file events).
func (w *Watcher) watchDir(dir string) error {
	if w.fw == nil {
		return nil
	}
	return w.fw.Add(dir)
}

// track records a file loaded by app, whose content summed to sum before it was read, and
// watches its folder.
func (w *Watcher) track(app, abs string, sum [sha256.Size]byte) {
	if w.tracked[abs] == nil {
		w.tracked[abs] = make(map[string]bool)
	}
	w.tracked[abs][app] = true
	if w.sums.loaded(abs, sum) {
		// Its content changed since another load without an event: the next rescan reloads
		// every app that loaded it, whichever content each runs.
		for other := range w.tracked[abs] {
			w.sums.forget(other)
		}
	}
	dir := filepath.Dir(abs)
	if w.dirs[dir] {
		return
	}
	if err := w.watchDir(dir); err != nil {
		w.log.Error().Err(err).Str("dir", dir).Msg("cannot watch folder of a loaded file")
		return
	}
	w.dirs[dir] = true
}
