package sharedobject

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// wireSub keeps each message as the bytes that go on the wire.
type wireSub struct{ msgs [][]byte }

func (w *wireSub) Send(m *rtmpmsg.SharedObjectMessage, amf3 bool) {
	w.msgs = append(w.msgs, rtmpmsg.AppendSharedObject(nil, m, amf3))
}

// useAt sends a Use carrying the client's version and returns the one reply.
func useAt(t *testing.T, r *Registry, s *fakeSub, name string, persistent bool, version uint32) received {
	t.Helper()
	m := clientMsg(t, name, persistent, s.amf3, use())
	m.Version = version
	if err := r.Handle(s.id, s, s.amf3, m); err != nil {
		t.Fatal(err)
	}
	got := s.take()
	if len(got) != 1 {
		t.Fatalf("use at %d: %d messages", version, len(got))
	}
	return got[0]
}

func chg(k string, v any) Event { return Event{Type: EventChange, Pairs: []Pair{{k, v}}} }
func rm(k string) Event         { return Event{Type: EventRemove, Key: k} }

func eq(a, b Event) bool { return reflect.DeepEqual(a, b) }

var (
	useOK   = Event{Type: EventUseSuccess}
	clearEv = Event{Type: EventClear}
)

// historyObject builds a persistent object at version 6: a=1 b=2 c=3 (v1-3), b deleted (v4), a=10
// (v5), d=4 (v6).
func historyObject(t *testing.T, cfg Config) (*Registry, *Object) {
	r := New(cfg)
	so, err := r.Get("p", true)
	if err != nil {
		t.Fatal(err)
	}
	so.SetProperty("a", 1.0)
	so.SetProperty("b", 2.0)
	so.SetProperty("c", 3.0)
	so.SetProperty("b", nil)
	so.SetProperty("a", 10.0)
	so.SetProperty("d", 4.0)
	if so.Version() != 6 {
		t.Fatalf("version %d", so.Version())
	}
	return r, so
}

func TestUseResync(t *testing.T) {
	t.Parallel()
	r, _ := historyObject(t, Config{})
	full := []Event{useOK, clearEv, chg("a", 10.0), chg("c", 3.0), chg("d", 4.0)}
	cases := []struct {
		version uint32
		want    []Event
	}{
		{0, []Event{useOK, chg("a", 10.0), chg("c", 3.0), chg("d", 4.0)}}, // new client: as Red5
		{1, []Event{useOK, rm("b"), chg("a", 10.0), chg("c", 3.0), chg("d", 4.0)}},
		{3, []Event{useOK, rm("b"), chg("a", 10.0), chg("d", 4.0)}},
		{4, []Event{useOK, chg("a", 10.0), chg("d", 4.0)}},
		{5, []Event{useOK, chg("d", 4.0)}},
		{6, []Event{useOK}},
		{7, full}, // a version the object never had: start again
		{1 << 31, full},
	}
	for _, c := range cases {
		for _, amf3 := range []bool{false, true} {
			s := newSub(t, fmt.Sprint("v", c.version, amf3), amf3)
			got := useAt(t, r, s, "p", true, c.version)
			if !reflect.DeepEqual(got.events, c.want) || got.version != 6 || got.flags != 2 {
				t.Errorf("client at %d (amf3 %v): version %d %v, want %v", c.version, amf3, got.version, got.events, c.want)
			}
		}
	}
}

// TestUseResyncBytes pins the delta reply on the wire (type 19 body).
func TestUseResyncBytes(t *testing.T) {
	t.Parallel()
	r, _ := historyObject(t, Config{})
	w := &wireSub{}
	m := clientMsg(t, "p", true, false, use())
	m.Version = 4
	if err := r.Handle("w", w, false, m); err != nil {
		t.Fatal(err)
	}
	want := h("0001 70  00000006  00000002  00000000" + // name "p", version 6, persistent, reserved
		"0b 00000000" + // UseSuccess
		"04 0000000c  0001 61  00 4024000000000000" + // Change a = 10
		"04 0000000c  0001 64  00 4010000000000000") // Change d = 4
	if len(w.msgs) != 1 || !bytes.Equal(w.msgs[0], want) {
		t.Fatalf("got % x\nwant % x", w.msgs, want)
	}
}

func TestNonPersistentAlwaysFull(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	so, _ := r.Get("t", false)
	so.SetProperty("a", 1.0)
	so.SetProperty("a", nil)
	so.SetProperty("b", 2.0)
	for _, v := range []uint32{0, 1, 2, 3} {
		got := useAt(t, r, newSub(t, "c", false), "t", false, v)
		if want := []Event{useOK, clearEv, chg("b", 2.0)}; !reflect.DeepEqual(got.events, want) {
			t.Fatalf("at %d: %v", v, got.events)
		}
	}
	if len(so.hist.tombs) != 0 {
		t.Fatal("a non-persistent object keeps a history it never uses")
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	r, so := historyObject(t, Config{})
	so.Purge(4) // b was deleted at 4: kept
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 3).events; !eq(got[1], rm("b")) {
		t.Fatalf("purge(4) dropped b: %v", got)
	}
	so.Purge(5)
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 3).events; !reflect.DeepEqual(got, []Event{useOK, clearEv, chg("a", 10.0), chg("c", 3.0), chg("d", 4.0)}) {
		t.Fatalf("client from before the purge: %v", got)
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 4).events; !reflect.DeepEqual(got, []Event{useOK, chg("a", 10.0), chg("d", 4.0)}) {
		t.Fatalf("client after the purged deletion: %v", got)
	}
	if len(so.hist.tombs) != 0 {
		t.Fatalf("tombstones left: %v", so.hist.tombs)
	}
}

func TestResyncDepth(t *testing.T) {
	t.Parallel()
	r, so := historyObject(t, Config{})
	if so.ResyncDepth() != -1 {
		t.Fatal(so.ResyncDepth())
	}
	so.SetResyncDepth(1) // b, deleted at 4, is more than 1 version old at 6
	if len(so.hist.tombs) != 0 || so.ResyncDepth() != 1 {
		t.Fatalf("tombstones %v", so.hist.tombs)
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 5).events; !reflect.DeepEqual(got, []Event{useOK, chg("d", 4.0)}) {
		t.Fatalf("client 1 behind: %v", got)
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 4).events; !eq(got[1], clearEv) {
		t.Fatalf("client 2 behind: %v", got)
	}
	so.SetProperty("e", 5.0)
	so.SetProperty("e", nil) // deleted at 8
	so.SetProperty("f", 6.0) // 9: e is 1 version old, kept
	if _, ok := so.hist.tombs["e"]; !ok {
		t.Fatal("e forgotten too early")
	}
	so.SetProperty("g", 7.0) // 10
	if _, ok := so.hist.tombs["e"]; ok {
		t.Fatal("e kept past resyncDepth")
	}
	so.SetResyncDepth(-5)
	if so.ResyncDepth() != -1 {
		t.Fatal("negative depth is unlimited")
	}
}

func TestHistoryBounded(t *testing.T) {
	t.Parallel()
	r := New(Config{Limits: Limits{MaxSlots: 10, MaxBytes: 200, MaxObjects: 10}})
	so, _ := r.Get("p", true)
	for i := range 10 {
		so.SetProperty(fmt.Sprint("k", i), 1.0)
	}
	for i := range 10 {
		so.SetProperty(fmt.Sprint("k", i), nil) // versions 11..20
	}
	if len(so.hist.tombs) != 10 {
		t.Fatalf("%d tombstones", len(so.hist.tombs))
	}
	for i := range 4 {
		if err := so.SetProperty(fmt.Sprint("n", i), 1.0); err != nil { // live slots take the room back
			t.Fatal(err)
		}
	}
	if len(so.hist.tombs) != 6 || so.hist.from != 14 {
		t.Fatalf("%d tombstones, history from %d", len(so.hist.tombs), so.hist.from)
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 13).events; !eq(got[1], clearEv) {
		t.Fatalf("client older than the history: %v", got[:2])
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 14).events; len(got) != 1+6+4 || !eq(got[1], rm("k4")) {
		t.Fatalf("client the history covers: %v", got)
	}
	// Bytes: long names make the tombstones weigh; slots plus history stay within MaxBytes.
	long := strings.Repeat("x", 40)
	for i := range 3 {
		so.SetProperty(long+fmt.Sprint(i), 1.0)
		so.SetProperty(long+fmt.Sprint(i), nil)
	}
	if so.bytes+so.hist.bytes > 200 || len(so.slots)+len(so.hist.tombs) > 10 {
		t.Fatalf("bytes %d+%d, slots %d+%d", so.bytes, so.hist.bytes, len(so.slots), len(so.hist.tombs))
	}
	// Deleting and setting one slot forever keeps the queue small.
	for i := range 10000 {
		so.SetProperty("flip", float64(i))
		so.SetProperty("flip", nil)
	}
	if len(so.hist.queue) > 2*len(so.hist.tombs)+65 {
		t.Fatalf("queue of %d for %d tombstones", len(so.hist.queue), len(so.hist.tombs))
	}
}

func TestClearResetsHistory(t *testing.T) {
	t.Parallel()
	r, so := historyObject(t, Config{})
	so.Clear() // 7
	so.SetProperty("z", 1.0)
	so.SetProperty("y", 2.0)
	so.SetProperty("y", nil) // 9
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 6).events; !reflect.DeepEqual(got, []Event{useOK, clearEv, chg("z", 1.0)}) {
		t.Fatalf("client from before the clear: %v", got)
	}
	if got := useAt(t, r, newSub(t, "x", false), "p", true, 7).events; !reflect.DeepEqual(got, []Event{useOK, rm("y"), chg("z", 1.0)}) {
		t.Fatalf("client after the clear: %v", got)
	}
}

// TestHistoryPersisted: tombstones and slot versions survive a restart, so a client that comes
// back after it still gets only what changed.
func TestHistoryPersisted(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	r, so := historyObject(t, Config{ClientPersistence: true, Store: st})
	so.Purge(3) // nothing older than 4: stays
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2 := New(Config{ClientPersistence: true, Store: st})
	if got := useAt(t, r2, newSub(t, "x", false), "p", true, 3).events; !reflect.DeepEqual(got, []Event{useOK, rm("b"), chg("a", 10.0), chg("d", 4.0)}) {
		t.Fatalf("after restart: %v", got)
	}
	so2, _ := r2.Get("p", true)
	so2.Purge(5) // the shorter history is written too
	if !so2.Dirty() {
		t.Fatal("purge did not mark the object dirty")
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load("p")
	if err != nil || len(snap.tombs) != 0 || snap.histFrom != 4 || snap.version != 6 {
		t.Fatalf("%+v %v", snap, err)
	}
}

// TestLoadFormat1: a file written before the history existed loads; its slots count as changed
// at the file's version, so only a client at that version gets a delta (an empty one).
func TestLoadFormat1(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	p, _ := st.Path("old")
	old := encodeFileV1(9, []*slot{{key: "a", enc0: h("00 3ff0000000000000")}, {key: "b", enc0: h("02 0001 78")}})
	if err := writeAtomic(p, old); err != nil {
		t.Fatal(err)
	}
	r := New(Config{ClientPersistence: true, Store: st})
	if got := useAt(t, r, newSub(t, "x", false), "old", true, 9); got.version != 9 || !reflect.DeepEqual(got.events, []Event{useOK}) {
		t.Fatalf("client at the file's version: %v", got)
	}
	if got := useAt(t, r, newSub(t, "x", false), "old", true, 8).events; !reflect.DeepEqual(got, []Event{useOK, clearEv, chg("a", 1.0), chg("b", "x")}) {
		t.Fatalf("older client: %v", got)
	}
	so, _ := r.Get("old", true)
	so.SetProperty("b", nil)
	if err := so.Flush(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if [4]byte(b[:4]) != fileMagic {
		t.Fatalf("rewritten as % x", b[:4])
	}
	if snap, err := st.Load("old"); err != nil || !reflect.DeepEqual(snap.tombs, []tomb{{"b", 10}}) || snap.slots[0].ver != 9 {
		t.Fatalf("%+v %v", snap, err)
	}
}

func TestLockedSendAfterChanges(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	so, _ := r.Get("o", false)
	w := &wireSub{}
	if err := r.Handle("w", w, false, clientMsg(t, "o", false, false, use())); err != nil {
		t.Fatal(err)
	}
	w.msgs = nil
	if n := so.Lock(); n != 1 {
		t.Fatalf("lock count %d", n)
	}
	so.SetProperty("k", 1.0)
	if err := so.Send("after", "x"); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 0 {
		t.Fatal("sent while locked")
	}
	if n := so.Unlock(); n != 0 {
		t.Fatalf("unlock count %d", n)
	}
	want := [][]byte{
		h("0001 6f 00000001 00000000 00000000  04 0000000c 0001 6b 00 3ff0000000000000"),
		h("0001 6f 00000001 00000000 00000000  06 0000000c 02 0005 6166746572 02 0001 78"),
	}
	if !reflect.DeepEqual(w.msgs, want) {
		t.Fatalf("got % x\nwant % x", w.msgs, want)
	}
	if so.Unlock() != -1 {
		t.Fatal("unlock of an unlocked object")
	}
}

func TestClientSendQueuedDuringServerLock(t *testing.T) {
	t.Parallel()
	var hooked []string
	r := New(Config{OnMessage: func(_ *Object, id, method string, _ []any) { hooked = append(hooked, id+":"+method) }})
	subs := subscribe(t, r, "o", 2)
	so, _ := r.Get("o", false)
	so.Lock()
	so.SetProperty("k", 1.0)
	handle(t, r, subs[1], "o", false, Event{Type: EventSendMessage, Method: "m"})
	if got := subs[0].take(); len(got) != 0 || len(hooked) != 0 {
		t.Fatalf("client send went out during the server's lock: %v %v", got, hooked)
	}
	so.Unlock()
	for _, s := range subs {
		got := s.take()
		if len(got) != 2 || !eq(got[0].events[0], chg("k", 1.0)) || got[1].events[0].Method != "m" {
			t.Fatalf("%s: %#v", s.id, got)
		}
	}
	if !reflect.DeepEqual(hooked, []string{"c1:m"}) {
		t.Fatal(hooked)
	}
	// One client message: its change goes out before its send.
	handle(t, r, subs[0], "o", false, reqChange("j", 2.0), Event{Type: EventSendMessage, Method: "n"})
	if got := subs[1].take(); len(got) != 2 || !eq(got[0].events[0], chg("j", 2.0)) || got[1].events[0].Method != "n" {
		t.Fatalf("%#v", got)
	}
}

func TestQueuedSendsBounded(t *testing.T) {
	t.Parallel()
	r := New(Config{Limits: Limits{MaxSlots: 10, MaxBytes: 1 << 20, MaxObjects: 10}})
	subs := subscribe(t, r, "o", 1)
	so, _ := r.Get("o", false)
	so.Lock()
	var err error
	n := 0
	for ; err == nil && n < 5000; n++ {
		err = so.Send("m", float64(n))
	}
	if !errors.Is(err, ErrLimit) || n != maxQueuedSends+1 {
		t.Fatalf("%d sends queued: %v", n, err)
	}
	handle(t, r, subs[0], "o", false, Event{Type: EventSendMessage, Method: "c"})
	if got := subs[0].take(); len(got) != 1 || got[0].events[0].Code != CodeLimitExceeded {
		t.Fatalf("%#v", got)
	}
	so.Unlock()
	if got := subs[0].take(); len(got) != maxQueuedSends {
		t.Fatalf("%d delivered", len(got))
	}
	so.Lock()
	if err := so.Send("big", strings.Repeat("x", 1<<20)); !errors.Is(err, ErrLimit) {
		t.Fatal(err)
	}
	so.Unlock()
}

func TestCloseEndsLockKeepsClients(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	subs := subscribe(t, r, "o", 1)
	so, _ := r.Get("o", false)
	so.Lock()
	so.Lock()
	so.SetProperty("k", 1.0)
	so.Close()
	if got := subs[0].take(); len(got) != 1 || !eq(got[0].events[0], chg("k", 1.0)) {
		t.Fatalf("batch left locked by close: %#v", got)
	}
	if r.Len() != 1 {
		t.Fatal("object dropped while a client uses it")
	}
	handle(t, r, subs[0], "o", false, reqChange("j", 2.0))
	so2, _ := r.Get("o", false)
	if v, _ := so2.GetProperty("j"); v != 2.0 || so2.Version() != 2 {
		t.Fatal("object not shared after close")
	}
}

func TestOnSyncReject(t *testing.T) {
	t.Parallel()
	var lists [][]SyncItem
	r := New(Config{Limits: Limits{MaxSlots: 1, MaxBytes: 100, MaxObjects: 1},
		Access: func(id, _ string, write bool) bool { return !write || id != "ro" },
		OnSync: func(_ *Object, l []SyncItem) { lists = append(lists, l) }})
	a, ro := newSub(t, "a", false), newSub(t, "ro", false)
	handle(t, r, a, "o", false, use(), reqChange("k", 1.0))
	handle(t, r, ro, "o", false, use(), reqChange("k", 2.0))
	handle(t, r, a, "o", false, reqChange("other", 3.0)) // no room
	handle(t, r, a, "o", false, reqChange("k", 4.0))
	want := [][]SyncItem{{{"k", "change", amf.Undefined{}}}, {{"k", "reject", 1.0}}, {{"other", "reject", amf.Undefined{}}}, {{"k", "change", 1.0}}}
	if !reflect.DeepEqual(lists, want) {
		t.Fatalf("%v", lists)
	}
	// A flood of refused pairs in one message reports a bounded number of rejects.
	lists = nil
	flood := make([]Pair, 10000)
	for i := range flood {
		flood[i] = Pair{fmt.Sprint("f", i), 1.0}
	}
	handle(t, r, a, "o", false, Event{Type: EventRequestChange, Pairs: flood})
	if len(lists) != 1 || len(lists[0]) != maxRejectItems {
		t.Fatalf("%d lists, %d items", len(lists), len(lists[0]))
	}
	// One item per slot and update: its net effect, with the value from before the update.
	lists = nil
	handle(t, r, a, "o", false, reqChange("k", 5.0), reqChange("k", 6.0), Event{Type: EventRequestRemove, Key: "k"})
	handle(t, r, a, "o", false, reqChange("k", 7.0), Event{Type: EventRequestRemove, Key: "k"}, reqChange("k", 8.0))
	want = [][]SyncItem{{{"k", "delete", 4.0}}, {{"k", "change", amf.Undefined{}}}}
	if !reflect.DeepEqual(lists, want) {
		t.Fatalf("%v", lists)
	}
}
