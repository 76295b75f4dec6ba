package rtmpconn

import (
	"testing"
	"time"
)

// TestRuntimeShardsTicks: the connections of one runtime are spread over its tick shards by id
// (consecutive connections on different shards, every shard's tick its own), share one effective
// configuration, and the runtime's totals add up their writes and messages.
func TestRuntimeShardsTicks(t *testing.T) {
	t.Parallel()
	rt := newRuntime(2)
	cfg := Config{Runtime: rt}
	a, b, c := newPair(t, cfg), newPair(t, cfg), newPair(t, cfg)
	ta, tb, tc := a.c.tick.Load(), b.c.tick.Load(), c.c.tick.Load()
	if ta == tb || ta != tc {
		t.Fatalf("ticks of consecutive connections: %p %p %p; want two shards, the third back on the first", ta, tb, tc)
	}
	if a.c.cfg != b.c.cfg {
		t.Fatal("connections of one runtime made with one configuration keep separate copies")
	}
	for _, p := range []*pair{a, b} {
		if err := p.c.SendConnectAccept(1, StatusInfo("status", "NetConnection.Connect.Success", "ok")); err != nil {
			t.Fatal(err)
		}
	}
	writes, msgs := rt.Totals()
	if want := a.c.Stats.Writes.Load() + b.c.Stats.Writes.Load(); writes != want || want < 2 {
		t.Fatalf("runtime counted %d writes, connections %d", writes, want)
	}
	if want := a.c.Stats.MsgOut.Load() + b.c.Stats.MsgOut.Load(); msgs != want {
		t.Fatalf("runtime counted %d messages, connections %d", msgs, want)
	}
}

// TestRuntimesAreSeparate: two servers' runtimes share nothing: each numbers its own
// connections and has its own ticks, so one server's players never wait on another's tick.
func TestRuntimesAreSeparate(t *testing.T) {
	t.Parallel()
	r1, r2 := newRuntime(1), newRuntime(1)
	a, b := newPair(t, Config{Runtime: r1}), newPair(t, Config{Runtime: r2})
	if a.c.ID() != "1" || b.c.ID() != "1" {
		t.Fatalf("first connection ids %q and %q, want 1 for each runtime", a.c.ID(), b.c.ID())
	}
	if a.c.tick.Load() == b.c.tick.Load() {
		t.Fatal("two runtimes share a tick")
	}
	if r1.tickFor(time.Second, 0) != r1.tickFor(time.Second, 0) {
		t.Fatal("one runtime made two ticks for one interval and shard")
	}
}
