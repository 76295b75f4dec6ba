package sharedobject

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// DiskQuota is the disk budget of one application's persistent shared objects, shared by the
// registries of all its instances (the engine owns one per app). It counts the bytes that the
// objects' files hold once their changes are written: a change is charged when it is accepted,
// not when the debounced flush writes it, so that a change past the budget is refused (and the
// client's copy reverted) instead of being acknowledged and then lost. An object is charged the
// size its file has once written (24 header bytes; per slot its name, its AMF0 value and 6
// bytes; per deleted slot kept in the history its name and 6 bytes); files already on disk when
// the app's first instance starts are counted at their size.
type DiskQuota struct {
	limit atomic.Int64 // bytes; 0 or less: no limit
	used  atomic.Int64
}

// NewDiskQuota returns a budget of limit bytes (0: unlimited) of which used are already taken.
func NewDiskQuota(limit, used int64) *DiskQuota {
	q := &DiskQuota{}
	q.limit.Store(limit)
	q.used.Store(used)
	return q
}

// SetLimit changes the budget (app.json edited); bytes already charged stay charged.
func (q *DiskQuota) SetLimit(limit int64) { q.limit.Store(limit) }

// Limit is the budget in bytes (0: unlimited).
func (q *DiskQuota) Limit() int64 { return q.limit.Load() }

// Used is the bytes charged now.
func (q *DiskQuota) Used() int64 { return q.used.Load() }

// change charges delta bytes (negative: a release, always granted); a charge that would take
// the total past the limit is refused and changes nothing.
func (q *DiskQuota) change(delta int64) bool {
	for {
		used := q.used.Load()
		if lim := q.limit.Load(); delta > 0 && lim > 0 && used+delta > lim {
			return false
		}
		if q.used.CompareAndSwap(used, used+delta) {
			return true
		}
	}
}

// ErrQuota is a change refused because the app's persistent shared objects would take more disk
// than its quota (errors.Is(err, ErrLimit) holds too).
var ErrQuota = fmt.Errorf("disk quota of the application's persistent shared objects: %w", ErrLimit)

// quotaError names the object and the budget.
type quotaError struct {
	object string
	limit  int64
}

func (e *quotaError) Error() string {
	return fmt.Sprintf("shared object %q: more than %d bytes on disk: %v", e.object, e.limit, ErrQuota)
}

func (e *quotaError) Unwrap() error { return ErrQuota }

// fileBytes is the size of o's file (encodeFile) if its slots took slotBytes in slots slots,
// with its deleted-slot history as it is now.
func (o *Object) fileBytes(slotBytes, slots int) int64 {
	return int64(headerLenV2 + slotBytes + 6*slots + o.hist.bytes + 2*len(o.hist.tombs))
}

// charge brings o's charge to the size its file would have with slotBytes in slots slots; it
// fails, with nothing charged, past the quota. Only persistent objects of a registry with a
// store and a quota are charged.
func (o *Object) charge(slotBytes, slots int) error {
	q := o.reg.cfg.Quota
	if !o.persistent || q == nil || o.reg.cfg.Store == nil {
		return nil
	}
	want := o.fileBytes(slotBytes, slots)
	if !q.change(want - o.charged) {
		return &quotaError{object: o.name, limit: q.Limit()}
	}
	o.charged = want
	return nil
}

// recharge sets o's charge to its file's size now, after a change that cannot have grown it
// past what charge granted (a delete, a trimmed history, a tombstone forgotten).
func (o *Object) recharge() { _ = o.charge(o.bytes, len(o.slots)) }

// AppDir is the folder under dataDir that holds every instance store of app (see Store).
func AppDir(dataDir, app string) (string, error) {
	a, err := encodeSegment(app)
	if err != nil {
		return "", fmt.Errorf("data folder of app %q: %w", app, err)
	}
	return filepath.Join(dataDir, a), nil
}

// DiskUsage is the size of the object files under dir (an app's folder); a missing folder is 0.
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".fso") {
			info, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}
