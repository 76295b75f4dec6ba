package scripting

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCreationBucketsAreBounded: the per-address creation state never holds more than maxBuckets
// addresses; refilled buckets are dropped for new ones, and past the bound new addresses share
// one overflow bucket instead of each getting a fresh burst.
func TestCreationBucketsAreBounded(t *testing.T) {
	b := newBuckets(1, 2)
	now := time.Unix(1000, 0)
	for i := 0; i < maxBuckets; i++ {
		if !b.take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now) {
			t.Fatalf("address %d refused its first creation", i)
		}
	}
	if !b.take("10.99.0.1", now) || !b.take("10.99.0.2", now) || b.take("10.99.0.3", now) {
		t.Fatal("the overflow bucket is not shared by new addresses past the bound")
	}
	if len(b.m) > maxBuckets {
		t.Fatalf("%d buckets, bound %d", len(b.m), maxBuckets)
	}
	later := now.Add(5 * time.Second) // every bucket has refilled: the table makes room again
	if !b.take("10.99.0.3", later) || len(b.m) != 1 {
		t.Fatalf("refilled buckets not pruned: %d left", len(b.m))
	}
	if !b.take("10.99.0.3", later) || b.take("10.99.0.3", later) {
		t.Fatal("burst of 2 not enforced")
	}
	if !b.take("10.99.0.3", later.Add(time.Second)) {
		t.Fatal("no refill after a second at 1/s")
	}
}

// TestAddrKeyGroupsIPv6By64: one IPv6 host (its /64) is one address for the creation rate.
func TestAddrKeyGroupsIPv6By64(t *testing.T) {
	if addrKey("2001:db8::1") != addrKey("2001:db8::ffff:1") || addrKey("2001:db8::1") == addrKey("2001:db8:0:1::1") {
		t.Fatal("IPv6 not grouped by /64")
	}
	if addrKey("127.0.0.1") == addrKey("127.0.0.2") {
		t.Fatal("IPv4 addresses grouped")
	}
}

// TestInstancePatternKey: instancePattern must compile and matches whole names only.
func TestInstancePatternKey(t *testing.T) {
	cfg, err := ParseAppConfig("app.json", []byte(`{"instancePattern": "room[0-9]+", "maxInstances": 7}`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.InstanceAllowed("room12") || cfg.InstanceAllowed("room12x") || cfg.InstanceAllowed("xroom1") || cfg.MaxInstances != 7 {
		t.Fatal("instancePattern is not a whole-name match")
	}
	if _, err := ParseAppConfig("app.json", []byte(`{"instancePattern": "room[0-9"}`)); err == nil || !strings.Contains(err.Error(), "instancePattern") {
		t.Fatalf("bad pattern: %v", err)
	}
	if _, err := ParseAppConfig("app.json", []byte(`{"maxInstances": -1}`)); err == nil {
		t.Fatal("negative maxInstances accepted")
	}
}
