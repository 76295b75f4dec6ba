package scripting

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var normalizeCases = []struct{ in, want string }{
	{"", ""},
	{"a\nb", "a\nb"},
	{"\xEF\xBB\xBFvar a;", "var a;"},
	{"a\r\nb\r\n", "a\nb\n"},
	{"a\rb\r", "a\nb\n"},
	{"a\r\r\nb\n\rc", "a\n\nb\n\nc"},
	{"\xEF\xBB\xBF\xEF\xBB\xBFx", "\xEF\xBB\xBFx"},
}

func TestNormalizeSource(t *testing.T) {
	t.Parallel()
	for _, tc := range normalizeCases {
		if got := NormalizeSource([]byte(tc.in)); got != tc.want {
			t.Errorf("NormalizeSource(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNormalizeSource(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := NormalizeSource(b)
		if strings.ContainsRune(got, '\r') {
			t.Fatalf("CR left in %q", got)
		}
		lines := strings.Count(string(b), "\n") + strings.Count(string(b), "\r") - strings.Count(string(b), "\r\n")
		if strings.Count(got, "\n") != lines {
			t.Fatalf("line count changed: %q → %q", b, got)
		}
	})
}

func TestEntryFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		files []string
		want  string
	}{
		{nil, ""},
		{[]string{"chat.asc"}, "chat.asc"},
		{[]string{"chat.asc", "chat.js"}, "chat.js"},
		{[]string{"chat.js", "main.asc"}, "main.asc"},
		{[]string{"main.asc", "main.js", "chat.js"}, "main.js"},
		{[]string{"other.js", "lib/main.js"}, ""},
	}
	for _, tc := range cases {
		dir := filepath.Join(t.TempDir(), "chat")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range tc.files {
			writeFile(t, filepath.Join(dir, f), "//")
		}
		got := EntryFile(dir, "chat")
		if tc.want == "" && got != "" || tc.want != "" && got != filepath.Join(dir, tc.want) {
			t.Errorf("files %v: entry %q, want %q", tc.files, got, tc.want)
		}
	}
}

func TestCompileCacheAndSloppyMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "main.js")
	// Old-Mac line ends: with LF-only splitting the whole file would be one comment.
	writeFile(t, path, "\xEF\xBB\xBF// header\rundeclared = 5;\rfunction f() { return this }\rvar same = f() === this;\r")
	c := NewProgramCache()
	p1, err := c.Compile(path, "apps/x/main.js")
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := c.Compile(path, "apps/x/main.js"); p2 != p1 {
		t.Fatal("same file version compiled twice")
	}
	rt := goja.New()
	if _, err := rt.RunProgram(p1); err != nil {
		t.Fatal(err)
	}
	if rt.Get("undeclared").ToInteger() != 5 || !rt.Get("same").ToBoolean() {
		t.Fatal("not run in sloppy mode or lines not split on CR")
	}
	later := time.Now().Add(2 * time.Second)
	writeFile(t, path, "var v = 2;")
	_ = os.Chtimes(path, later, later)
	p3, err := c.Compile(path, "apps/x/main.js")
	if err != nil || p3 == p1 {
		t.Fatalf("edited file not recompiled: %v", err)
	}
}

func TestCompileSyntaxError(t *testing.T) {
	t.Parallel()
	cases := []struct{ src, prefix string }{
		{"var a = 1;\nvar b = ;\n", "apps/chat/main.js:2:9: "},
		{"var a = 1;\rvar b = ;\r", "apps/chat/main.js:2:9: "},
		{"\n\n  function (", "apps/chat/main.js:3:"},
		{"let x; let x;", "apps/chat/main.js:1:"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "main.js")
		writeFile(t, path, tc.src)
		_, err := NewProgramCache().Compile(path, "apps/chat/main.js")
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("%q: error %v, want prefix %q", tc.src, err, tc.prefix)
		}
	}
	if _, err := NewProgramCache().Compile(filepath.Join(t.TempDir(), "none.js"), "apps/x/none.js"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
