package sharedobject

import (
	"fmt"
	"testing"
)

// TestRefusedPairsAnsweredOnce: a request whose pairs do not all fit is answered with one
// Status carrying a revert event per refused slot (not a message per slot); one with more pairs
// than the object may have slots is refused whole, changing nothing, with one bounded Status.
func TestRefusedPairsAnsweredOnce(t *testing.T) {
	t.Parallel()
	r := New(Config{Limits: Limits{MaxSlots: 5, MaxBytes: 1 << 20, MaxObjects: 2}})
	a, b := newSub(t, "a", false), newSub(t, "b", false)
	handle(t, r, a, "o", false, use())
	handle(t, r, b, "o", false, use())
	a.take()
	b.take()
	pairs := func(n int) Event {
		ev := Event{Type: EventRequestChange}
		for i := range n {
			ev.Pairs = append(ev.Pairs, Pair{fmt.Sprint("k", i), float64(i)})
		}
		return ev
	}
	handle(t, r, a, "o", false, pairs(4)) // fits
	a.take()
	b.take()
	over := Event{Type: EventRequestChange, Pairs: []Pair{{"x", 1.0}, {"k0", "changed"}, {"y", 2.0}, {"z", 3.0}}}
	handle(t, r, a, "o", false, over)
	got := a.take()
	var status []received
	for _, m := range got {
		if m.events[0].Type == EventStatus {
			status = append(status, m)
		}
	}
	if len(status) != 1 || status[0].events[0].Code != CodeLimitExceeded || len(status[0].events) != 3 ||
		status[0].events[1].Key != "y" || status[0].events[2].Key != "z" {
		t.Fatalf("refusal of y and z: %d status messages %#v", len(status), status)
	}
	if ev := b.take(); len(ev) != 1 || len(ev[0].events) != 2 || ev[0].events[0].Pairs[0] != (Pair{"x", 1.0}) ||
		ev[0].events[1].Pairs[0] != (Pair{"k0", "changed"}) {
		t.Fatalf("the others see only the changes that fitted: %#v", ev)
	}

	handle(t, r, a, "o", false, pairs(10_000)) // more pairs than slots: refused whole
	got = a.take()
	if len(got) != 1 || got[0].events[0].Code != CodeLimitExceeded || len(got[0].events) != 1+min(10_000, maxRevertEvents) {
		t.Fatalf("oversized request: %d messages", len(got))
	}
	if ev := b.take(); len(ev) != 0 {
		t.Fatalf("an oversized request changed something: %#v", ev)
	}
}
