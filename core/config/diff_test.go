package config

import (
	"reflect"
	"testing"
	"time"
)

// diffShared is embedded in diffInner: its keys belong to the same table.
type diffShared struct {
	Rate float64 `toml:"accept_rate"`
}

type diffInner struct {
	diffShared
	Max  int           `toml:"max_connections"`
	Wait time.Duration `toml:"wait"`
	Skip []int         `toml:"-"`
}

type diffConfig struct {
	RTMP   string            `toml:"rtmp"`
	Level  string            `toml:"log_level"`
	Routes map[string]string `toml:"routes"`
	Limits diffInner         `toml:"limits"`
	hidden int
}

func TestChangedNamesKeys(t *testing.T) {
	old := diffConfig{RTMP: ":1935", Level: "info", Routes: map[string]string{"a": "x"},
		Limits: diffInner{Max: 1, Wait: time.Second, Skip: []int{1}}, hidden: 1}
	same := old
	same.Limits.Skip, same.hidden = []int{2}, 2 // not configuration
	same.Routes = map[string]string{"a": "x"}
	if got := Changed(diffConfig{}, diffConfig{Routes: map[string]string{}}); len(got) != 0 {
		t.Fatalf("nil and empty tables: %v", got)
	}
	if got := Changed(old, same); len(got) != 0 {
		t.Fatalf("equal configs: %v", got)
	}
	next := old
	next.RTMP, next.Routes = ":1936", map[string]string{"a": "y"}
	next.Limits.Max, next.Limits.Wait, next.Limits.Rate = 2, 2*time.Second, 3
	want := []string{"rtmp", "routes", "limits.accept_rate", "limits.max_connections", "limits.wait"}
	if got := Changed(old, next); !reflect.DeepEqual(got, want) {
		t.Fatalf("Changed = %v, want %v", got, want)
	}
}
