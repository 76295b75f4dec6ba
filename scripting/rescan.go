package scripting

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
)

// Rescan checks every app folder as if all its files had changed, for file systems that send no
// events (NFS, SMB, FUSE) and for SIGHUP: an app whose code, app.json or loaded files differ from
// what it was last loaded from is reloaded, a new folder becomes an app, a removed folder's
// instances shut down (clients get NetConnection.Connect.AppShutdown) — the same path as a file
// event. It returns at once; the changes follow within the watcher's debounce.
func (e *Engine) Rescan() {
	e.watcher.Rescan()
}

// Loaded tells the watcher that an instance of app was started from files whose folderSum,
// taken before they were read, is sum; first says that no other instance of app runs. It makes
// the app known (a folder created while no event was seen is not reported as Added later). The
// next report of the only instance's app, file events included, is checked against sum: an app
// written and connected to at once is not reloaded into the code it already runs when the events
// of its writing arrive (some may arrive after this call), while a write after sum was taken
// differs and reloads it.
func (w *Watcher) Loaded(app string, sum [sha256.Size]byte, first bool) {
	w.post(func() {
		w.known[app] = true
		w.sums.started(app, sum, first)
		if first {
			w.fresh[app] = true
		}
	})
}

// appSums remember what each app's files held when every running instance of it was loaded
// from them (or when the watcher last reported or first saw the app), so that a rescan reports
// only the apps that differ. A sum that instances disagree on is dropped: the next rescan reports
// the app, and its reload brings every instance to the files as they are. Owned by the watcher's
// goroutine.
type appSums struct {
	folder map[string][sha256.Size]byte // app → sum of its folder's code and app.json
	files  map[string][sha256.Size]byte // loaded file (absolute path) → sum of its content
}

func newAppSums() appSums {
	return appSums{folder: map[string][sha256.Size]byte{}, files: map[string][sha256.Size]byte{}}
}

// record stores the current sums of app's folder and of the files it loaded, and reports whether
// any of them differs from the stored one.
func (s appSums) record(w *Watcher, app string) (changed bool) {
	sum := folderSum(w.root, app)
	if old, ok := s.folder[app]; !ok || old != sum {
		s.folder[app], changed = sum, true
	}
	for path, apps := range w.tracked {
		if !apps[app] {
			continue
		}
		if sum := fileSum(path); s.files[path] != sum {
			s.files[path], changed = sum, true
		}
	}
	return changed
}

// started records the sum an instance of app was loaded from: the app's sum if it is the only
// instance, else the sum is kept only if it agrees.
func (s appSums) started(app string, sum [sha256.Size]byte, first bool) {
	if old, ok := s.folder[app]; first || (ok && old == sum) {
		s.folder[app] = sum
		return
	}
	delete(s.folder, app)
}

// loaded records the content sum of a file an app loads (load(), require()), taken before it
// was read; mixed reports that it differs from the content recorded before, which instances of
// some app may still run.
func (s appSums) loaded(path string, sum [sha256.Size]byte) (mixed bool) {
	old, ok := s.files[path]
	s.files[path] = sum
	return ok && old != sum
}

// forget drops a removed app's folder sum.
func (s appSums) forget(app string) {
	delete(s.folder, app)
}

// folderSum hashes the names and contents of the files of root/app that count as its code or
// configuration (relevantFile), in WalkDir's lexical order; dot-folders are skipped as the
// watcher skips them.
func folderSum(root, app string) [sha256.Size]byte {
	h := sha256.New()
	dir := filepath.Join(root, app)
	// The trailing separator makes WalkDir enter an app folder that is a symbolic link.
	_ = filepath.WalkDir(dir+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil {
			return nil
		}
		if d.IsDir() {
			if filepath.Clean(p) != dir && ignoredName(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if relevantFile(rel) {
			sum := fileSum(p)
			h.Write([]byte(filepath.ToSlash(rel)))
			h.Write([]byte{0})
			h.Write(sum[:])
		}
		return nil
	})
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// fileSum is the SHA-256 of a file's content; a file that cannot be read sums to zeros.
func fileSum(path string) [sha256.Size]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(b)
}
