package originmain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// listed is a module registered by this test binary only, so -modules has something to print.
type listed struct{}

func (listed) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.listed", New: func() plugin.Module { return listed{} }}
}

func (listed) Authorize(context.Context, *plugin.Request) plugin.Decision { return plugin.Decision{} }
func (listed) HandleEvent(context.Context, *plugin.Event)                 {}

func init() { plugin.Register(listed{}.PluginInfo()) }

// TestModulesFlag: -modules prints each registered module with its extension points and
// returns without starting a server (nor reading a config file that does not exist).
func TestModulesFlag(t *testing.T) {
	for _, args := range [][]string{{"-modules"}, {"--modules", "-config", "/nonexistent.toml"}, {"-modules=true"}} {
		var out bytes.Buffer
		if err := run(args, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "test.listed\tauth,events\n") {
			t.Fatalf("%v printed %q", args, out.String())
		}
	}
	if err := run([]string{"-modules", "-no-such-flag"}, &bytes.Buffer{}); err == nil {
		t.Fatal("-modules with an unknown flag: no error")
	}
}

// TestFlagsOverConfig: the config file is read first and the flags win over it; the file's
// folder is where modules resolve their relative paths.
func TestFlagsOverConfig(t *testing.T) {
	path := t.TempDir() + "/origin.toml"
	writeFile(t, path, "rtmp = \"127.0.0.1:2000\"\nhttp = \"127.0.0.1:2001\"\n")
	cfg, _, err := parseConfig([]string{"-config", path, "-rtmp", "127.0.0.1:3000"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RTMP != "127.0.0.1:3000" || cfg.HTTP != "127.0.0.1:2001" || cfg.ConfigDir != filepath.Dir(path) {
		t.Fatalf("rtmp %q http %q config dir %q", cfg.RTMP, cfg.HTTP, cfg.ConfigDir)
	}
	writeFile(t, path, "rtmp = \"x\"\nno_such_key = 1\n")
	if _, _, err := parseConfig([]string{"-config", path}); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("unknown key: %v", err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
