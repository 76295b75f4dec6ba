package sharedobject

import (
	"errors"
	"strings"
	"testing"
)

// codes lists the Status codes a subscriber received.
func codes(rs []received) []string {
	var out []string
	for _, r := range rs {
		for _, e := range r.events {
			if e.Type == EventStatus {
				out = append(out, e.Code)
			}
		}
	}
	return out
}

// TestPersistenceNeedsConsent: without ClientPersistence a client's persistent Use is refused
// with BadPersistence (AMF0 and AMF3), unless the server opened that object as persistent;
// non-persistent objects are unaffected.
func TestPersistenceNeedsConsent(t *testing.T) {
	t.Parallel()
	r := New(Config{Store: newStore(t)})
	for _, amf3 := range []bool{false, true} {
		a := newSub(t, "a", amf3)
		handle(t, r, a, "disk", true, use())
		if got := codes(a.take()); len(got) != 1 || got[0] != CodeBadPersistence {
			t.Fatalf("amf3=%v: persistent use without consent: %v", amf3, got)
		}
		handle(t, r, a, "mem", false, use())
		if got := a.take(); len(got) != 1 || got[0].events[0].Type != EventUseSuccess {
			t.Fatalf("amf3=%v: non-persistent use: %+v", amf3, got)
		}
	}
	if _, err := r.Get("board", true); err != nil {
		t.Fatal(err)
	}
	b := newSub(t, "b", false)
	handle(t, r, b, "board", true, use(), reqChange("k", 1.0))
	if got := b.take(); len(got) == 0 || got[0].events[0].Type != EventUseSuccess || len(codes(got)) != 0 {
		t.Fatalf("use of the server's persistent object: %+v", got)
	}
	open := New(Config{ClientPersistence: true, Store: newStore(t)})
	handle(t, open, b, "disk", true, use())
	if got := b.take(); len(got) != 1 || got[0].events[0].Type != EventUseSuccess {
		t.Fatalf("persistent use with consent: %+v", got)
	}
}

// TestStoreErrRefusesPersistence: an instance whose store could not be made refuses persistent
// objects with BadName (client and server) instead of keeping them in memory only.
func TestStoreErrRefusesPersistence(t *testing.T) {
	t.Parallel()
	_, err := NewStore(t.TempDir(), "app", strings.Repeat("i", 250))
	if !errors.Is(err, ErrBadName) {
		t.Fatalf("NewStore with a 250-byte instance: %v", err)
	}
	r := New(Config{ClientPersistence: true, StoreErr: err})
	a := newSub(t, "a", false)
	handle(t, r, a, "p", true, use())
	if got := codes(a.take()); len(got) != 1 || got[0] != CodeBadName {
		t.Fatalf("persistent use: %v", got)
	}
	if _, err := r.Get("p", true); !errors.Is(err, ErrBadName) {
		t.Fatalf("server Get: %v", err)
	}
	if _, err := r.Get("p", false); err != nil {
		t.Fatalf("non-persistent Get: %v", err)
	}
}

// TestPathTooLong: a name whose file path would pass PATH_MAX is refused at Use.
func TestPathTooLong(t *testing.T) {
	t.Parallel()
	r := New(Config{ClientPersistence: true, Store: newStore(t)})
	seg := strings.Repeat("s", 190)
	name := strings.TrimSuffix(strings.Repeat(seg+"/", 22), "/")
	a := newSub(t, "a", false)
	handle(t, r, a, name, true, use())
	if got := codes(a.take()); len(got) != 1 || got[0] != CodeBadName {
		t.Fatalf("use of a %d-byte name: %v", len(name), got)
	}
}

// TestDiskQuota: a change past the app's quota is refused with LimitExceeded and reverted for
// the client (its value before is sent back), a server SetProperty fails with ErrQuota, two
// registries share one quota, deletes release it, and what is on disk after a restart is what
// was acknowledged.
func TestDiskQuota(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	q := NewDiskQuota(600, 0)
	r := New(Config{ClientPersistence: true, Store: st, Quota: q})
	a := newSub(t, "a", false)
	big := strings.Repeat("x", 200)
	handle(t, r, a, "p", true, use(), reqChange("k1", big), reqChange("k2", big))
	if got := codes(a.take()); len(got) != 0 {
		t.Fatalf("changes within the quota: %v", got)
	}
	used := q.Used()
	if want := int64(headerLenV2 + 2*(6+2+203)); used != want {
		t.Fatalf("charged %d, want %d (the file's size)", used, want)
	}
	handle(t, r, a, "p", true, reqChange("k3", big))
	got := a.take()
	if c := codes(got); len(c) != 1 || c[0] != CodeLimitExceeded {
		t.Fatalf("change past the quota: %v", c)
	}
	if ev := got[0].events; len(ev) != 2 || ev[1].Type != EventRemove || ev[1].Key != "k3" {
		t.Fatalf("the refused slot is not reverted for the client: %+v", ev)
	}
	if q.Used() != used {
		t.Fatalf("a refused change was charged: %d, then %d", used, q.Used())
	}
	// Another instance of the same app shares the budget.
	r2 := New(Config{ClientPersistence: true, Store: newStore(t), Quota: q})
	so2, err := r2.Get("q", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := so2.SetProperty("k", big); !errors.Is(err, ErrQuota) || !errors.Is(err, ErrLimit) {
		t.Fatalf("server SetProperty past the quota: %v", err)
	}
	handle(t, r, a, "p", true, Event{Type: EventRequestRemove, Key: "k2"})
	if err := so2.SetProperty("k", big); err != nil {
		t.Fatalf("after a delete released room: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load("p")
	if err != nil || len(snap.slots) != 1 || snap.slots[0].key != "k1" {
		t.Fatalf("on disk after close: %+v %v", snap, err)
	}
	// A restart counts what is on disk.
	dirUsed, err := DiskUsage(st.Dir())
	if err != nil || dirUsed == 0 {
		t.Fatalf("DiskUsage: %d %v", dirUsed, err)
	}
}

// TestQuotaMatchesFileSize: what an object is charged is its file's size once written, through
// sets, deletes (their tombstones count: deleting long-named slots cannot grow the file past the
// quota uncharged), re-sets, a clear, and a reload.
func TestQuotaMatchesFileSize(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	q := NewDiskQuota(0, 0)
	r := New(Config{ClientPersistence: true, Store: st, Quota: q})
	so, err := r.Get("p", true)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := func(step string) {
		t.Helper()
		if err := so.Flush(); err != nil {
			t.Fatal(err)
		}
		n, err := DiskUsage(st.Dir())
		if err != nil || n != q.Used() {
			t.Fatalf("%s: charged %d, file %d bytes (%v)", step, q.Used(), n, err)
		}
	}
	long := strings.Repeat("k", 1000)
	for i := range 20 {
		so.SetProperty(long+string(rune('a'+i)), float64(i))
	}
	onDisk("sets")
	for i := range 15 {
		so.SetProperty(long+string(rune('a'+i)), nil)
	}
	onDisk("deletes")
	so.SetProperty(long+"a", "back")
	onDisk("a deleted slot set again")
	so.Clear()
	so.SetProperty("x", 1.0)
	onDisk("clear")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	before := q.Used()
	r2 := New(Config{ClientPersistence: true, Store: st, Quota: q})
	so2, _ := r2.Get("p", true)
	so2.SetProperty("x", 1.0) // unchanged: no charge
	if q.Used() != before {
		t.Fatalf("a reload changed the charge: %d, then %d", before, q.Used())
	}
}
