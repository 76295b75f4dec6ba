package originmain

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// picky is a module whose Validate refuses any mode but "strict": -check-config must run the
// modules' own checks, not only the file's syntax.
type picky struct {
	Mode string `toml:"mode"`
}

func (*picky) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.picky", New: func() plugin.Module { return &picky{} }}
}

func (p *picky) Validate() error {
	if p.Mode != "strict" {
		return errors.New(`mode must be "strict"`)
	}
	return nil
}

func (*picky) HandleEvent(context.Context, *plugin.Event) {}

func init() { plugin.Register((&picky{}).PluginInfo()) }

// TestCheckConfig: -check-config FILE reports a good file with what it makes the origin do, and
// refuses a bad one with the reason and, for the file's own mistakes, its line; nothing listens.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	apps := filepath.Join(dir, "apps")
	if err := os.MkdirAll(filepath.Join(apps, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	head := "rtmp = \"127.0.0.1:1\"\nhttp = \"\"\napps = \"" + apps + "\"\ndata = \"" + filepath.Join(dir, "data") + "\"\nscriptlib = \"" + dir + "\"\nhooks = \"\"\n"
	cases := []struct {
		name, file string
		args       []string
		want       string // in the output, or in the error when bad
		bad        bool
	}{
		{name: "good", file: head + "[modules.\"test.picky\"]\nmode = \"strict\"\n",
			want: "config FILE: ok\n  listeners: rtmp 127.0.0.1:1, trunk 127.0.0.1:19350, http off, web off\n  apps: " + apps + " (1: live)\n  modules: test.picky\n"},
		{name: "flags over the file", file: head, args: []string{"-trunk", ""}, want: "trunk off"},
		{name: "unknown key", file: head + "rtmp_port = 1935\n", bad: true, want: ":7: unknown key \"rtmp_port\""},
		{name: "unknown module key", file: head + "[modules.\"test.picky\"]\nmod = \"strict\"\n", bad: true, want: ":8:"},
		{name: "module refuses", file: head + "[modules.\"test.picky\"]\nmode = \"lax\"\n", bad: true, want: `mode must be "strict"`},
		{name: "module not in the binary", file: head + "[modules.\"auth.nope\"]\n", bad: true, want: "auth.nope"},
		{name: "no apps folder", file: strings.Replace(head, apps, filepath.Join(dir, "none"), 1), bad: true, want: "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "origin.toml")
			writeFile(t, path, c.file)
			var out bytes.Buffer
			err := run(append([]string{"-check-config", path}, c.args...), &out)
			want := strings.ReplaceAll(c.want, "FILE", path)
			switch {
			case c.bad && err == nil:
				t.Fatalf("a bad config passed:\n%s", out.String())
			case c.bad && !strings.Contains(err.Error(), want):
				t.Fatalf("error %q, want it to name %q", err, want)
			case !c.bad && err != nil:
				t.Fatalf("a good config failed: %v", err)
			case !c.bad && !strings.Contains(out.String(), want):
				t.Fatalf("printed %q, want %q", out.String(), want)
			}
		})
	}
	if err := run([]string{"-check-config"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "needs a file") {
		t.Fatalf("-check-config without a file: %v", err)
	}
}
