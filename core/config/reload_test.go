package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestReloaderAppliesOrReports: a reload hands the live keys to apply and logs every other
// changed key by name as needing a restart; a source or check error changes nothing.
func TestReloaderAppliesOrReports(t *testing.T) {
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	r := NewReloader(diffConfig{RTMP: ":1935", Level: "info"})
	live := func(k string) bool { return k == "log_level" }
	applies := 0
	apply := func(run *diffConfig, next diffConfig) { applies++; run.Level = next.Level }
	if got, err := r.Reload(nil, live, apply, &log); got != nil || err != nil || applies != 0 {
		t.Fatalf("without a source: %v %v, %d applies", got, err, applies)
	}
	next := diffConfig{RTMP: ":1936", Level: "debug"}
	r.SetSource(func() (diffConfig, error) { return next, nil })
	refuse := errors.New("bad level")
	if _, err := r.Reload(func(diffConfig) error { return refuse }, live, apply, &log); !errors.Is(err, refuse) || applies != 0 {
		t.Fatalf("refused by check: %v, %d applies", err, applies)
	}
	got, err := r.Reload(func(diffConfig) error { return nil }, live, apply, &log)
	if err != nil || !reflect.DeepEqual(got, []string{"log_level"}) || applies != 1 {
		t.Fatalf("reload: %v %v, %d applies", got, err, applies)
	}
	if !strings.Contains(logs.String(), `"key":"rtmp","message":"changed in the config file; needs a restart"`) || strings.Contains(logs.String(), ":1936") {
		t.Fatalf("logs (the key named, never its value):\n%s", logs.String())
	}
	logs.Reset()
	if got, _ := r.Reload(func(diffConfig) error { return nil }, live, apply, &log); len(got) != 0 {
		t.Fatalf("the applied level counted as changed again: %v", got)
	}
	if !strings.Contains(logs.String(), `"key":"rtmp"`) {
		t.Fatal("a key needing a restart is reported on every reload until the restart")
	}
}
