package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// mkModule writes a go.mod declaring module into a new folder and returns it.
func mkModule(t *testing.T, module string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// a comment\nmodule "+module+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestParseWith(t *testing.T) {
	dir := mkModule(t, "example.com/mods")
	for _, tc := range []struct {
		arg, err string
		want     plugin
	}{
		{arg: "example.com/a", want: plugin{Import: "example.com/a"}},
		{arg: "example.com/a@v1.2.3", want: plugin{Import: "example.com/a", Version: "v1.2.3"}},
		{arg: "example.com/mods=" + dir, want: plugin{Import: "example.com/mods", Dir: dir, Module: "example.com/mods"}},
		{arg: "example.com/mods/auth=" + dir, want: plugin{Import: "example.com/mods/auth", Dir: dir, Module: "example.com/mods"}},
		{arg: "example.com/other=" + dir, err: "declares module example.com/mods"},
		{arg: "example.com/modsx=" + dir, err: "declares module example.com/mods"},
		{arg: "example.com/mods@v1=" + dir, err: "no version"},
		{arg: "example.com/a=" + filepath.Join(dir, "none"), err: "no such file"},
		{arg: "", err: "want MODULE"},
		{arg: "@v1", err: "want MODULE"},
	} {
		got, err := parseWith(tc.arg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one with %q", tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.arg, got, err, tc.want)
		}
	}
}

func TestFmsgoSource(t *testing.T) {
	checkout := mkModule(t, fmsgoModule)
	inside := filepath.Join(checkout, "origin", "cmd")
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	other := mkModule(t, "example.com/mine")
	for _, tc := range []struct {
		flag, cwd, built string
		want             source
		err              string
	}{
		{cwd: inside, want: source{Dir: checkout}},
		{cwd: other, built: "v1.4.0", want: source{Version: "v1.4.0"}},
		{cwd: other, built: "(devel)", err: "not inside an fmsgo checkout"},
		{flag: checkout, cwd: other, want: source{Dir: checkout}},
		{flag: "v1.5.0", cwd: inside, want: source{Version: "v1.5.0"}},
		{flag: other, cwd: inside, err: "not an fmsgo checkout"},
		{flag: "master", cwd: inside, err: "neither a folder nor a version"},
	} {
		got, err := fmsgoSource(tc.flag, tc.cwd, tc.built)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: error %v, want %q", tc, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %+v, %v", tc, got, err)
		}
	}
}

// TestGeneratedModule: the go.mod replaces fmsgo's checkout and each local module (sorted, once
// per module), and main.go is valid Go importing originmain, the standard modules and each
// plug-in.
func TestGeneratedModule(t *testing.T) {
	plugins := []plugin{
		{Import: "example.com/b/auth", Dir: "/src/b", Module: "example.com/b"},
		{Import: "example.com/b/events", Dir: "/src/b", Module: "example.com/b"},
		{Import: "example.com/a", Version: "v1.0.0"},
	}
	mod := goMod(source{Dir: "/src/fmsgo dir"}, plugins)
	for _, want := range []string{"module fmsgo-build/origin\n", "\ngo " + goVersion() + "\n",
		"replace example.com/b => \"/src/b\"\nreplace github.com/fmsgo/fmsgo => \"/src/fmsgo dir\"\n"} {
		if !strings.Contains(mod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, mod)
		}
	}
	if strings.Contains(mod, "example.com/a") || strings.Count(mod, "example.com/b =>") != 1 {
		t.Errorf("go.mod:\n%s", mod)
	}
	if m := goMod(source{Version: "v1.0.0"}, nil); strings.Contains(m, "replace") {
		t.Errorf("go.mod of a released fmsgo:\n%s", m)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", mainGo(plugins), parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		imports = append(imports, p)
	}
	want := []string{"github.com/fmsgo/fmsgo/origin/originmain", "github.com/fmsgo/fmsgo/origin/modules/standard",
		"example.com/b/auth", "example.com/b/events", "example.com/a"}
	if !slices.Equal(imports, want) || f.Name.Name != "main" {
		t.Fatalf("package %s imports %v, want %v", f.Name.Name, imports, want)
	}
	if g := gets(options{fmsgo: source{Version: "v2.0.0"}, with: plugins}); !slices.Equal(g,
		[]string{fmsgoModule + "@v2.0.0", "example.com/a@v1.0.0"}) {
		t.Errorf("go get %v", g)
	}
	if g := gets(options{fmsgo: source{Dir: "/x"}, with: []plugin{{Import: "example.com/c"}}}); !slices.Equal(g, []string{"example.com/c@latest"}) {
		t.Errorf("go get %v", g)
	}
}

func TestGoEnv(t *testing.T) {
	env := goEnv([]string{"HOME=/h", "GOWORK=/w/go.work", "GOFLAGS=-mod=vendor -trimpath", "GOPROXY=off"})
	want := []string{"HOME=/h", "GOPROXY=off", "GOWORK=off", "GOFLAGS=-trimpath -mod=mod"}
	if !slices.Equal(env, want) {
		t.Fatalf("%q, want %q", env, want)
	}
}

// TestFailureShowsGoOutput: a module that does not compile fails the build with go's own
// message, and the generated folder is kept and named.
func TestFailureShowsGoOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	dir := mkModule(t, "example.com/broken")
	if err := os.WriteFile(filepath.Join(dir, "broken.go"), []byte("package broken\n\nfunc f() { undefinedThing() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	err := run([]string{"--with", "example.com/broken=" + dir, "-o", filepath.Join(t.TempDir(), "origin")}, &log)
	if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") || !strings.Contains(err.Error(), "go build") {
		t.Fatalf("error %v", err)
	}
	kept := strings.TrimSpace(strings.TrimPrefix(log.String(), "fmsgo-build: generated module kept in"))
	if _, err := os.Stat(filepath.Join(kept, "main.go")); err != nil {
		t.Fatalf("log %q: %v", log.String(), err)
	}
	os.RemoveAll(kept)
}
