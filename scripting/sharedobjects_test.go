package scripting

import (
	"strings"
	"testing"
)

var accessCases = []struct {
	list, path string
	want       bool
}{
	{"/", "anything/at/all", true},
	{"", "x", false},
	{"public", "public", true},
	{"public", "public/board", true},
	{"public", "publicity", false},
	{"/public/", "public/board", true},
	{"public;/lobby/", "lobby", true},
	{"public; lobby", "lobby/a", true},
	{"public/chat", "public", false},
	{"public/chat", "/public/chat/room1", true},
	{";;", "x", false},
	{"a;/", "zzz", true},
}

func TestAccessAllows(t *testing.T) {
	t.Parallel()
	for _, c := range accessCases {
		if got := accessAllows(c.list, c.path); got != c.want {
			t.Errorf("accessAllows(%q, %q) = %v, want %v", c.list, c.path, got, c.want)
		}
	}
}

// FuzzAccessAllows: the object name comes from the client. "/" allows every name, a leading
// slash never changes the answer, and a name is allowed only under a listed prefix.
func FuzzAccessAllows(f *testing.F) {
	for _, c := range accessCases {
		f.Add(c.list, c.path)
	}
	f.Fuzz(func(t *testing.T, list, path string) {
		got := accessAllows(list, path)
		if !accessAllows("/", path) {
			t.Fatalf("\"/\" refused %q", path)
		}
		if accessAllows(list, "/"+path) != got {
			t.Fatalf("leading slash changed the answer for %q in %q", path, list)
		}
		if got && !strings.Contains(list, "/") {
			p := strings.TrimLeft(path, "/")
			found := false
			for _, pre := range strings.Split(list, ";") {
				pre = strings.TrimSpace(pre)
				if pre != "" && (p == pre || strings.HasPrefix(p, pre+"/")) {
					found = true
				}
			}
			if !found {
				t.Fatalf("%q allowed by %q without a matching prefix", path, list)
			}
		}
	})
}
