package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/authtoken"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, strings.TrimSpace(o.String()), e.String()
}

// TestGenKeySignVerify: the operator's whole loop from a shell: make two keys, mint a token
// with the newest, check it, and the module's Verify accepts it for the stream it names only.
func TestGenKeySignVerify(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "token.keys")
	var file strings.Builder
	for _, kid := range []string{"old", "new"} {
		code, line, errs := runCmd(t, "-genkey", kid)
		if code != 0 || !strings.HasPrefix(line, kid+" ") || len(line) != len(kid)+1+43 {
			t.Fatalf("-genkey %s: %d %q %s", kid, code, line, errs)
		}
		file.WriteString(line + "\n")
	}
	if err := os.WriteFile(keys, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, tok, errs := runCmd(t, "-keys", keys, "-app", "live", "-stream", "cam", "-act", "publish,play", "-ttl", "10m")
	if code != 0 || !strings.HasPrefix(tok, "v1.new.") {
		t.Fatalf("sign: %d %q %s", code, tok, errs)
	}
	ring, err := authtoken.LoadKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := authtoken.Verify(tok, ring, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Permits(&plugin.Request{Action: plugin.ActPlay, App: "live", Instance: "_definst_", Stream: "cam"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Permits(&plugin.Request{Action: plugin.ActPlay, App: "live", Instance: "_definst_", Stream: "cam2"}); err == nil {
		t.Fatal("the token is good for another stream")
	}
	if c.Expires.Sub(time.Now()) > 10*time.Minute || c.Expires.Sub(time.Now()) < 9*time.Minute {
		t.Fatalf("expires %v", c.Expires)
	}
	code, out, _ := runCmd(t, "-keys", keys, "-verify", tok)
	if code != 0 || !strings.Contains(out, "valid: app=live stream=cam act=publish,play") {
		t.Fatalf("-verify: %d %q", code, out)
	}
	code, out, _ = runCmd(t, "-keys", keys, "-kid", "old", "-app", "live", "-stream", "cam", "-url", "rtmp://h/live/cam?x=1")
	if code != 0 || !strings.HasPrefix(out, "rtmp://h/live/cam?x=1&token=v1.old.") {
		t.Fatalf("-url: %d %q", code, out)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "token.keys")
	if err := os.WriteFile(keys, []byte("k1 0123456789abcdef-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-app", "live"}, "-keys is required"},
		{[]string{"-keys", keys, "-app", "live"}, "publish needs a stream"},
		{[]string{"-keys", keys, "-app", "live", "-stream", "cam", "-act", "seek"}, `-act "seek"`},
		{[]string{"-keys", keys, "-app", "live", "-stream", "cam", "-kid", "k2"}, `no key "k2"`},
		{[]string{"-keys", keys, "-app", "live", "-stream", "cam", "-ttl", "-1s"}, "-ttl must be positive"},
		{[]string{"-keys", keys, "-verify", "v1.k1.e30.AAAA"}, "malformed token"},
		{[]string{"-keys", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"-genkey", "bad.kid"}, "key id"},
	} {
		code, _, errs := runCmd(t, tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errs, tc.want)
		}
		if strings.Contains(errs, "0123456789abcdef") {
			t.Errorf("%v: the key is printed: %s", tc.args, errs)
		}
	}
	if code, _, _ := runCmd(t, "-nosuchflag"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
