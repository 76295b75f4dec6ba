package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type sample struct {
	RTMP   string `toml:"rtmp"`
	Limits struct {
		MaxClients int `toml:"max_clients"`
	} `toml:"limits"`
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("rtmp = \":1940\"\n[limits]\nmax_clients = 5\n"), 0o644)
	var s sample
	if err := Load(good, &s); err != nil || s.RTMP != ":1940" || s.Limits.MaxClients != 5 {
		t.Fatalf("got %+v %v", s, err)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("rtmp = \":1940\"\n\nrtpm_typo = 1\n"), 0o644)
	err := Load(bad, &s)
	if err == nil || !strings.Contains(err.Error(), ":3:") || !strings.Contains(err.Error(), "rtpm_typo") {
		t.Fatalf("want unknown key error naming line 3, got %v", err)
	}
}

// TestUnknownKeyLine: the line named is the one defining that exact key, not the first line
// whose key starts with the same letters.
func TestUnknownKeyLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("rtmp = \":1\"\nrtm = 2\n[limits]\nmax_clients = 1\nmax_client = 2\n"), 0o644)
	var s sample
	err := Load(path, &s)
	if err == nil || !strings.Contains(err.Error(), ":2: unknown key \"rtm\"") {
		t.Fatalf("want line 2 for rtm, got %v", err)
	}
	os.WriteFile(path, []byte("rtmp = \":1\"\n[limits]\nmax_clients = 1\n \"max_client\" = 2\n"), 0o644)
	if err := Load(path, &s); err == nil || !strings.Contains(err.Error(), ":4:") {
		t.Fatalf("want line 4 for limits.max_client, got %v", err)
	}
}

func TestFindFlag(t *testing.T) {
	t.Parallel()
	args := []string{"-rtmp", ":1", "--config=/a.toml"}
	if got := FindFlag(args, "config"); got != "/a.toml" {
		t.Fatal(got)
	}
	if got := FindFlag([]string{"-config", "x"}, "config"); got != "x" {
		t.Fatal(got)
	}
}

func TestWithoutFlag(t *testing.T) {
	got := WithoutFlag([]string{"-a", "1", "-check-config", "f.toml", "--check-config=g", "-b"}, "check-config")
	if strings.Join(got, " ") != "-a 1 -b" {
		t.Fatalf("got %q", got)
	}
}
