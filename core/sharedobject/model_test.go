package sharedobject

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

func TestUseSequence(t *testing.T) {
	t.Parallel()
	for _, persistent := range []bool{false, true} {
		r := New(Config{})
		so, err := r.Get("room", persistent)
		if err != nil {
			t.Fatal(err)
		}
		so.SetProperty("a", 1.0)
		so.SetProperty("b", "two")
		a := newSub(t, "a", false)
		handle(t, r, a, "room", persistent, use())
		got := a.take()
		if len(got) != 1 {
			t.Fatalf("persistent=%v: %d messages", persistent, len(got))
		}
		want := []EventType{EventUseSuccess, EventClear, EventChange, EventChange}
		if persistent {
			want = []EventType{EventUseSuccess, EventChange, EventChange}
		}
		if !reflect.DeepEqual(types(got[0]), want) || got[0].version != 2 {
			t.Fatalf("persistent=%v: %v version %d", persistent, types(got[0]), got[0].version)
		}
		n := len(got[0].events)
		if got[0].events[n-2].Pairs[0] != (Pair{"a", 1.0}) || got[0].events[n-1].Pairs[0] != (Pair{"b", "two"}) {
			t.Fatalf("slots %#v", got[0].events)
		}
		if persistent != (got[0].flags == 2) {
			t.Fatalf("flags %d", got[0].flags)
		}
	}
}

// subscribe makes n fake subscribers use the object; every other one speaks AMF3.
func subscribe(t *testing.T, r *Registry, name string, n int) []*fakeSub {
	subs := make([]*fakeSub, n)
	for i := range subs {
		subs[i] = newSub(t, fmt.Sprint("c", i), i%2 == 1)
		handle(t, r, subs[i], name, false, use())
		subs[i].take()
	}
	return subs
}

func TestRequestChangeFanout(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 50} {
		r := New(Config{})
		subs := subscribe(t, r, "chat", n)
		so, _ := r.Get("chat", false)
		handle(t, r, subs[0], "chat", false, reqChange("x", "hello"))
		if got := subs[0].take(); len(got) != 1 || !reflect.DeepEqual(got[0].events, []Event{{Type: EventSuccess, Key: "x"}}) || got[0].version != 1 {
			t.Fatalf("requester got %#v", got)
		}
		for _, s := range subs[1:] {
			got := s.take()
			if len(got) != 1 || got[0].version != 1 || got[0].amf3 != s.amf3 ||
				!reflect.DeepEqual(got[0].events, []Event{{Type: EventChange, Pairs: []Pair{{"x", "hello"}}}}) {
				t.Fatalf("%s got %#v", s.id, got)
			}
		}
		// Same value again: Success for the requester, nothing for the others, same version.
		handle(t, r, subs[1], "chat", false, reqChange("x", "hello"))
		if got := subs[1].take(); len(got) != 1 || got[0].events[0].Type != EventSuccess || got[0].version != 1 {
			t.Fatalf("unchanged: requester got %#v", got)
		}
		for _, s := range append(subs[:1:1], subs[2:]...) {
			if got := s.take(); len(got) != 0 {
				t.Fatalf("unchanged: %s got %#v", s.id, got)
			}
		}
		if so.Version() != 1 {
			t.Fatalf("version %d", so.Version())
		}
	}
}

func TestRequestRemoveReachesAll(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	subs := subscribe(t, r, "o", 3)
	handle(t, r, subs[0], "o", false, reqChange("k", 1.0))
	for _, s := range subs {
		s.take()
	}
	handle(t, r, subs[1], "o", false, Event{Type: EventRequestRemove, Key: "k"})
	for _, s := range subs {
		got := s.take()
		if len(got) != 1 || !reflect.DeepEqual(got[0].events, []Event{{Type: EventRemove, Key: "k"}}) || got[0].version != 2 {
			t.Fatalf("%s got %#v", s.id, got)
		}
	}
}

func TestSendMessageReachesAllOnceInOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var hooked []string
	r := New(Config{OnMessage: func(so *Object, client, method string, args []any) {
		mu.Lock()
		hooked = append(hooked, fmt.Sprint(client, method, args))
		mu.Unlock()
	}})
	subs := subscribe(t, r, "o", 5)
	for i := range 3 {
		handle(t, r, subs[2], "o", false, Event{Type: EventSendMessage, Method: "msg", Args: []any{float64(i), "x"}})
	}
	for _, s := range subs {
		got := s.take()
		if len(got) != 3 {
			t.Fatalf("%s got %d messages", s.id, len(got))
		}
		for i, m := range got {
			want := []Event{{Type: EventSendMessage, Method: "msg", Args: []any{float64(i), "x"}}}
			if !reflect.DeepEqual(m.events, want) {
				t.Fatalf("%s message %d: %#v", s.id, i, m.events)
			}
		}
	}
	if want := []string{"c2msg[0 x]", "c2msg[1 x]", "c2msg[2 x]"}; !reflect.DeepEqual(hooked, want) {
		t.Fatalf("hook %v", hooked)
	}
	so, _ := r.Get("o", false)
	if err := so.Send("fromServer", true); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if got := s.take(); len(got) != 1 || got[0].events[0].Method != "fromServer" {
			t.Fatalf("%s: %#v", s.id, got)
		}
	}
}

func TestLockBatches(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	so, _ := r.Get("o", false)
	so.SetProperty("c", 3.0)
	subs := subscribe(t, r, "o", 2)
	so.Lock()
	so.SetProperty("a", 1.0)
	so.SetProperty("b", 2.0)
	so.SetProperty("a", 10.0)
	so.SetProperty("c", nil)
	handle(t, r, subs[0], "o", false, reqChange("d", true)) // joins the batch
	if got := subs[1].take(); len(got) != 0 {
		t.Fatalf("sent during lock: %#v", got)
	}
	so.Unlock()
	want := []Event{
		{Type: EventChange, Pairs: []Pair{{"a", 10.0}}},
		{Type: EventChange, Pairs: []Pair{{"b", 2.0}}},
		{Type: EventRemove, Key: "c"},
		{Type: EventChange, Pairs: []Pair{{"d", true}}},
	}
	got := subs[1].take()
	if len(got) != 1 || !reflect.DeepEqual(got[0].events, want) || got[0].version != 2 {
		t.Fatalf("batch: %#v", got)
	}
	mine := subs[0].take()
	if len(mine) != 1 || !reflect.DeepEqual(mine[0].events[3], Event{Type: EventSuccess, Key: "d"}) {
		t.Fatalf("requester: %#v", mine)
	}
}

func TestLateJoinerClearAndDelete(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	subs := subscribe(t, r, "o", 2)
	handle(t, r, subs[0], "o", false, reqChange("a", 1.0), reqChange("b", 2.0), reqChange("c", 3.0))
	handle(t, r, subs[1], "o", false, Event{Type: EventRequestRemove, Key: "b"})
	late := newSub(t, "late", true)
	handle(t, r, late, "o", false, use())
	got := late.take()
	want := []Event{{Type: EventUseSuccess}, {Type: EventClear},
		{Type: EventChange, Pairs: []Pair{{"a", 1.0}}}, {Type: EventChange, Pairs: []Pair{{"c", 3.0}}}}
	if len(got) != 1 || !reflect.DeepEqual(got[0].events, want) || got[0].version != 2 {
		t.Fatalf("late joiner: %#v", got)
	}
	so, _ := r.Get("o", false)
	so.Clear()
	for _, s := range append(subs, late) {
		s.take()
	}
	so.Clear() // already empty: still one Clear update
	for _, s := range append(subs, late) {
		if got := s.take(); len(got) != 1 || !reflect.DeepEqual(types(got[0]), []EventType{EventClear}) {
			t.Fatalf("%s: %#v", s.id, got)
		}
	}
	if so.Size() != 0 || len(so.PropertyNames()) != 0 {
		t.Fatal("not cleared")
	}
}

func TestOnSync(t *testing.T) {
	t.Parallel()
	var lists [][]SyncItem
	r := New(Config{OnSync: func(so *Object, l []SyncItem) { lists = append(lists, l) }})
	subs := subscribe(t, r, "o", 1)
	handle(t, r, subs[0], "o", false, reqChange("a", 1.0), reqChange("b", 1.0))
	handle(t, r, subs[0], "o", false, reqChange("a", 1.0)) // unchanged: no onSync
	handle(t, r, subs[0], "o", false, Event{Type: EventRequestRemove, Key: "a"})
	so, _ := r.Get("o", false)
	so.SetProperty("z", 1.0) // the server's own change: no onSync
	u := amf.Undefined{}
	want := [][]SyncItem{{{"a", "change", u}, {"b", "change", u}}, {{"a", "delete", 1.0}}}
	if !reflect.DeepEqual(lists, want) {
		t.Fatalf("%v", lists)
	}
}

func TestServerAPI(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	so, _ := r.Get("o", false)
	obj := &amf.Object{Props: []amf.Prop{{Key: "k", Value: "v"}}}
	so.SetProperty("b", obj)
	so.SetProperty("a", 1.0)
	so.SetProperty("b", 2.0) // keeps its place
	if v, ok := so.GetProperty("b"); !ok || v != 2.0 {
		t.Fatal(v)
	}
	if _, ok := so.GetProperty("missing"); ok {
		t.Fatal("missing slot exists")
	}
	if !reflect.DeepEqual(so.PropertyNames(), []string{"b", "a"}) || so.Size() != 2 {
		t.Fatal(so.PropertyNames())
	}
	so.SetProperty("a", amf.Undefined{})
	if so.Size() != 1 || so.Version() != 4 || so.Name() != "o" || so.Persistent() || so.Dirty() {
		t.Fatal("after delete")
	}
	so.Purge(3)
	so.Close()
	if r.Len() != 0 {
		t.Fatal("unused object not dropped")
	}
	if err := so.SetProperty("x", 1.0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func TestReleaseAndDisconnect(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	a, b := newSub(t, "a", false), newSub(t, "b", false)
	handle(t, r, a, "o", false, use())
	handle(t, r, b, "o", false, use())
	handle(t, r, a, "o", false, Event{Type: EventRelease})
	handle(t, r, b, "o", false, reqChange("x", 1.0))
	if got := a.take(); len(got) != 1 {
		t.Fatalf("released client still gets updates: %#v", got)
	}
	r.Disconnect(b)
	if r.Len() != 0 {
		t.Fatal("object kept after its last user left")
	}
	handle(t, r, a, "o", false, use())
	if got := a.take(); len(got) != 1 || len(got[0].events) != 2 {
		t.Fatalf("fresh object expected: %#v", got)
	}
	err := r.Handle("b", b, false, clientMsg(t, "o", false, false, reqChange("x", 1.0)))
	if !errors.Is(err, ErrNotSubscribed) {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	r := New(Config{Access: func(client, path string, write bool) bool {
		return client != "noread" && !(write && client == "ro")
	}})
	so, _ := r.Get("o", true)
	so.SetProperty("k", "old")
	check := func(s *fakeSub, code string, extra ...Event) {
		t.Helper()
		got := s.take()
		want := append([]Event{{Type: EventStatus, Code: code, Level: "error"}}, extra...)
		if len(got) != 1 || !reflect.DeepEqual(got[0].events, want) {
			t.Fatalf("%s: %#v", s.id, got)
		}
	}
	nr := newSub(t, "noread", false)
	handle(t, r, nr, "o", true, use())
	check(nr, CodeNoReadAccess)
	bp := newSub(t, "bp", false)
	handle(t, r, bp, "o", false, use())
	check(bp, CodeBadPersistence)
	ro := newSub(t, "ro", true)
	handle(t, r, ro, "o", true, use())
	ro.take()
	handle(t, r, ro, "o", true, reqChange("k", "new"), Event{Type: EventRequestRemove, Key: "k"})
	got := ro.take()
	if len(got) != 2 || got[0].events[0].Code != CodeNoWriteAccess || got[0].events[1].Pairs[0] != (Pair{"k", "old"}) ||
		got[1].events[0].Code != CodeNoWriteAccess {
		t.Fatalf("read-only: %#v", got)
	}
	if v, _ := so.GetProperty("k"); v != "old" {
		t.Fatal("refused write applied")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	so, _ := r.Get("big", false)
	failed := 0
	for i := range 1_000_000 {
		if err := so.SetProperty(strconv.Itoa(i), 1.0); errors.Is(err, ErrLimit) {
			failed++
		}
	}
	if so.Size() != 10000 || failed != 990000 {
		t.Fatalf("size %d failed %d", so.Size(), failed)
	}
	if err := so.SetProperty(strings.Repeat("k", MaxKeyBytes+1), 1.0); !errors.Is(err, ErrLimit) {
		t.Fatal(err)
	}

	r = New(Config{Limits: Limits{MaxSlots: 10, MaxBytes: 1000, MaxObjects: 2}})
	a, b := newSub(t, "a", false), newSub(t, "b", true)
	handle(t, r, a, "o", false, use())
	handle(t, r, b, "o", false, use())
	a.take()
	b.take()
	handle(t, r, a, "o", false, reqChange("blob", strings.Repeat("x", 2000)))
	got := a.take()
	if len(got) != 1 || got[0].events[0].Code != CodeLimitExceeded || got[0].events[1].Type != EventRemove {
		t.Fatalf("bytes limit: %#v", got)
	}
	handle(t, r, b, "o", false, reqChange("ok", 1.0)) // the object stays usable
	if got := a.take(); len(got) != 1 || got[0].events[0].Pairs[0] != (Pair{"ok", 1.0}) {
		t.Fatalf("after limit: %#v", got)
	}
	b.take()
	handle(t, r, a, "p", false, use())
	a.take()
	handle(t, r, a, "q", false, use())
	if got := a.take(); len(got) != 1 || got[0].events[0].Code != CodeLimitExceeded {
		t.Fatalf("objects limit: %#v", got)
	}
	// AMF3 string references expand in AMF0: measured before encoding.
	refs := make([]any, 5000)
	long := strings.Repeat("y", 900)
	for i := range refs {
		refs[i] = long
	}
	if err := r.Handle("b", b, true, clientMsg(t, "o", false, true, reqChange("refs", &amf.Array{Dense: refs}))); err != nil {
		t.Fatal(err)
	}
	if got := b.take(); len(got) != 1 || got[0].events[0].Code != CodeLimitExceeded {
		t.Fatalf("expanding value: %#v", got)
	}
}

func TestBadClientEvents(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	a := newSub(t, "a", false)
	handle(t, r, a, "o", false, use())
	cases := []rtmpmsg.SharedObjectEvent{
		{Type: 99}, {Type: uint8(EventSuccess), Data: appendKey(nil, "x")}, {Type: uint8(EventRequestChange), Data: []byte{0, 9}},
		{Type: uint8(EventRequestChange), Data: append(appendKey(nil, strings.Repeat("k", 70000)), 5)},
	}
	for _, ev := range cases {
		m := &rtmpmsg.SharedObjectMessage{Name: "o", Events: []rtmpmsg.SharedObjectEvent{ev}}
		if err := r.Handle("a", a, false, m); err == nil {
			t.Fatalf("event %d accepted", ev.Type)
		}
	}
	// Events before a malformed one still apply.
	m := clientMsg(t, "o", false, false, reqChange("x", 1.0))
	m.Events = append(m.Events, rtmpmsg.SharedObjectEvent{Type: 99})
	if err := r.Handle("a", a, false, m); !errors.Is(err, ErrUnknownEvent) {
		t.Fatal(err)
	}
	so, _ := r.Get("o", false)
	if v, _ := so.GetProperty("x"); v != 1.0 {
		t.Fatal("valid prefix dropped")
	}
}

// rawSub keeps the messages as sent, to check the bytes of AMF3 values.
type rawSub struct {
	msgs []*rtmpmsg.SharedObjectMessage
}

func (r *rawSub) Send(m *rtmpmsg.SharedObjectMessage, amf3 bool) { r.msgs = append(r.msgs, m) }

func TestAMF3ValuesSwitched(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	s3, s0 := &rawSub{}, &rawSub{}
	r.Handle("3", s3, true, clientMsg(t, "o", false, true, use()))
	r.Handle("0", s0, false, clientMsg(t, "o", false, false, use()))
	so, _ := r.Get("o", false)
	so.SetProperty("n", 5.0)
	if got := s3.msgs[1].Events[0]; got.Type != uint8(EventChange) || string(got.Data) != "\x00\x01n\x11\x04\x05" {
		t.Fatalf("amf3: % x", got.Data)
	}
	if got := s0.msgs[1].Events[0]; string(got.Data) != "\x00\x01n\x00\x40\x14\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("amf0: % x", got.Data)
	}
}
