package sharedobject

import (
	"sync"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// fakeSub records what it is sent, decoding each message through the real wire encoding.
type fakeSub struct {
	id   string
	amf3 bool
	mu   sync.Mutex
	msgs []received
	t    testing.TB
}

type received struct {
	version uint32
	flags   uint32
	amf3    bool
	events  []Event
}

func newSub(t testing.TB, id string, amf3 bool) *fakeSub { return &fakeSub{t: t, id: id, amf3: amf3} }

func (f *fakeSub) Send(m *rtmpmsg.SharedObjectMessage, amf3 bool) {
	typ := uint8(rtmpmsg.TypeSharedObjectAMF0)
	if amf3 {
		typ = rtmpmsg.TypeSharedObjectAMF3
	}
	back, err := rtmpmsg.DecodeSharedObject(typ, rtmpmsg.AppendSharedObject(nil, m, amf3))
	if err != nil {
		f.t.Errorf("%s: envelope: %v", f.id, err)
		return
	}
	evs, err := DecodeEvents(&back)
	if err != nil {
		f.t.Errorf("%s: events: %v", f.id, err)
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, received{version: back.Version, flags: back.Flags, amf3: amf3, events: evs})
	f.mu.Unlock()
}

// take returns and forgets what was received so far.
func (f *fakeSub) take() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.msgs
	f.msgs = nil
	return m
}

// types lists the event types of one message.
func types(r received) []EventType {
	ts := make([]EventType, len(r.events))
	for i, e := range r.events {
		ts[i] = e.Type
	}
	return ts
}

// clientMsg builds a client's message to object name from events.
func clientMsg(t testing.TB, name string, persistent, amf3 bool, evs ...Event) *rtmpmsg.SharedObjectMessage {
	t.Helper()
	m := &rtmpmsg.SharedObjectMessage{Name: name}
	if persistent {
		m.Flags = 2
	}
	var e amf.Encoder
	for i := range evs {
		raw, err := EncodeEvent(&e, &evs[i], amf3)
		if err != nil {
			t.Fatal(err)
		}
		m.Events = append(m.Events, raw)
	}
	return m
}

func use() Event { return Event{Type: EventUse} }

func reqChange(k string, v any) Event {
	return Event{Type: EventRequestChange, Pairs: []Pair{{k, v}}}
}

// handle sends a client message and fails the test on error.
func handle(t testing.TB, r *Registry, s *fakeSub, name string, persistent bool, evs ...Event) {
	t.Helper()
	if err := r.Handle(s.id, s, s.amf3, clientMsg(t, name, persistent, s.amf3, evs...)); err != nil {
		t.Fatal(err)
	}
}
