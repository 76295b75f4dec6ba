package authtoken

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
)

var claimFixtures = []string{
	`{"app":"live","stream":"cam","act":["publish"],"exp":1893456000}`,
	`{"app":"*","stream":"*","act":["connect","publish","play"],"exp":1893456000,"nbf":1700000000}`,
	`{"exp":5,"act":[],"app":"a"}`,
	`{"app":"live","act":["play"],"exp":0}`,
	`{"app":"live","app":"x","act":["play"],"exp":1}`,
	`{"app":"l\u0069ve","act":["play"],"exp":1}`,
	`{"app":"live","act":["play"],"exp":1.5}`,
	`{"app":"live","act":["play"],"exp":01}`,
	`{"app":"live","act":null,"exp":1}`,
	`{"app":"live", "act":["play"],"exp":1}`,
	`{"app":"live","act":["play"],"exp":1}x`,
	`{"app":"live","act":["play"],"exp":1,"extra":2}`,
	`{"app":"live","act":["play"],"exp":1234567890123456}`,
	`[]`, ``, `{`, `{"app":"live","act":["a","b","c","d","e","f","g","h","i"],"exp":1}`,
}

// TestFastClaimsAgreeWithJSON: the hand-written path accepts the shape Sign writes and declines
// everything else to encoding/json.
func TestFastClaimsAgreeWithJSON(t *testing.T) {
	fast := 0
	for _, fx := range claimFixtures {
		if checkFastClaims(t, []byte(fx)) {
			fast++
		}
	}
	if fast < 4 {
		t.Fatalf("the fast path took only %d of the fixtures", fast)
	}
	tok, err := Sign([]byte("0123456789abcdef0123"), "k1", Claims{App: "live", Stream: "cam", Actions: []plugin.Action{plugin.ActPublish, plugin.ActPlay}, Expires: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := split(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fastClaims(p.payload); !ok {
		t.Fatalf("Sign's own payload %s is not on the fast path", p.payload)
	}
}

// checkFastClaims reports whether the fast path took b, failing if encoding/json disagrees.
func checkFastClaims(t *testing.T, b []byte) bool {
	w, ok := fastClaims(b)
	if !ok {
		return false
	}
	ref, err := jsonClaims(b)
	if err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("%q: fast %+v, encoding/json %+v", b, w, ref)
	}
	return true
}

func FuzzFastClaims(f *testing.F) {
	for _, fx := range claimFixtures {
		f.Add([]byte(fx))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastClaims(t, b)
	})
}

var queryFixtures = []string{"token=abc", "a=1&token=x%20y&token=2", "tok%65n=v", "token=%zz&token=ok",
	"token;=1&token=2", "a=1;token=3", "", "token", "token=", "+token=1&token=2", "t+o=1", "token=a+b"}

func FuzzQueryParam(f *testing.F) {
	for _, q := range queryFixtures {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		if got, want := queryParam(raw, "token"), v.Get("token"); got != want {
			t.Fatalf("queryParam(%q) = %q, url.ParseQuery says %q", raw, got, want)
		}
	})
}
