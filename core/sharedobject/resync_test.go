package sharedobject

import (
	"reflect"
	"testing"
)

// replica is a client's copy of an object: the version it holds and its slots.
type replica struct {
	version uint32
	slots   map[string]any
}

// applyUse brings a replica up to date with a Use reply, as a Flash client does.
func (rep *replica) applyUse(t *testing.T, m received) {
	t.Helper()
	if len(m.events) == 0 || m.events[0].Type != EventUseSuccess {
		t.Fatalf("use reply %v", m.events)
	}
	for _, ev := range m.events[1:] {
		switch ev.Type {
		case EventClear:
			clear(rep.slots)
		case EventChange:
			for _, p := range ev.Pairs {
				rep.slots[p.Key] = p.Value
			}
		case EventRemove:
			delete(rep.slots, ev.Key)
		default:
			t.Fatalf("%v in a use reply", ev.Type)
		}
	}
	rep.version = m.version
}

// snapshotOf takes a new client's copy through Use (then Release: later updates are not applied).
func snapshotOf(t *testing.T, r *Registry, version uint32, from map[string]any) *replica {
	s := newSub(t, "snap", false)
	m := clientMsg(t, "p", true, false, use(), Event{Type: EventRelease})
	m.Version = version
	if err := r.Handle(s.id, s, false, m); err != nil {
		t.Fatal(err)
	}
	got := s.take()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	rep := &replica{slots: map[string]any{}}
	if version == 0 {
		// Version 0 means a client holding nothing (a copy taken during the object's first
		// locked batch holds its pending changes under version 0, and gets no Clear, as Red5).
		from = nil
	}
	for k, v := range from {
		rep.slots[k] = v
	}
	rep.applyUse(t, got[0])
	return rep
}

func stateOf(so *Object) map[string]any {
	m := map[string]any{}
	for _, k := range so.PropertyNames() {
		m[k], _ = so.GetProperty(k)
	}
	return m
}

// FuzzResync drives a persistent object through changes, deletions, clears, purges, resync
// depths and locked batches, taking client copies along the way; each copy brought up to date by
// a Use carrying its version must equal the object, and history stays within the limits.
func FuzzResync(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 7, 0, 3, 1, 0, 3, 7, 0, 3, 2, 0, 1})
	f.Add([]byte{0, 1, 7, 0, 6, 0, 3, 1, 0, 4, 7, 0, 6, 0, 0, 1, 12, 0, 0, 5})
	f.Add([]byte{0, 1, 0, 2, 0, 3, 7, 0, 3, 1, 3, 2, 5, 3, 0, 9, 13, 1, 3, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		lim := Limits{MaxSlots: 6, MaxBytes: 120, MaxObjects: 2}
		r := New(Config{Limits: lim})
		so, err := r.Get("p", true)
		if err != nil {
			t.Fatal(err)
		}
		var reps []*replica
		locked := false
		for i := 0; i+1 < len(ops) && i < 400; i += 2 {
			op, arg := ops[i], ops[i+1]
			key := string(rune('a' + arg%9))
			switch op % 16 {
			case 0, 1, 2, 8, 9, 10:
				so.SetProperty(key, float64(arg))
			case 3, 11:
				so.SetProperty(key, nil)
			case 4:
				so.Clear()
			case 5:
				so.Purge(uint32(arg) % (so.Version() + 2))
			case 6:
				if locked {
					so.Unlock()
				} else {
					so.Lock()
				}
				locked = !locked
			case 7, 15:
				reps = append(reps, snapshotOf(t, r, 0, nil))
			case 12:
				so.SetResyncDepth(int64(arg%8) - 1)
			case 13:
				if len(reps) > 0 { // a client that comes back, then leaves again
					rep := reps[int(arg)%len(reps)]
					*rep = *snapshotOf(t, r, rep.version, rep.slots)
				}
			}
			if n := len(so.slots) + len(so.hist.tombs); n > lim.MaxSlots {
				t.Fatalf("%d slots and tombstones", n)
			}
			if len(so.hist.tombs) > 0 && so.bytes+so.hist.bytes > lim.MaxBytes {
				t.Fatalf("%d bytes of slots and %d of history", so.bytes, so.hist.bytes)
			}
		}
		if locked {
			so.Unlock()
		}
		want := stateOf(so)
		for i, rep := range reps {
			got := snapshotOf(t, r, rep.version, rep.slots)
			if !reflect.DeepEqual(got.slots, want) || got.version != so.Version() {
				t.Fatalf("client %d from version %d: %v at %d, want %v at %d", i, rep.version, got.slots, got.version, want, so.Version())
			}
		}
	})
}

func BenchmarkUseResync(b *testing.B) {
	r := New(Config{})
	so, _ := r.Get("p", true)
	for i := range 1000 {
		so.SetProperty(string(rune('a'+i%26))+string(rune(i)), float64(i))
	}
	v := so.Version()
	so.SetProperty("late", 1.0)
	s := &countSub{}
	m := clientMsg(b, "p", true, false, use(), Event{Type: EventRelease})
	m.Version = v
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Handle("c", s, false, m); err != nil {
			b.Fatal(err)
		}
	}
}
