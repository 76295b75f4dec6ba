package authtoken

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// conf is a server config with a [modules] table, as origin.Config has.
type conf struct {
	Modules plugin.Tables    `toml:"modules"`
	Sel     plugin.Selection `toml:"-"`
}

func (c *conf) DecodeDeferred(md *toml.MetaData) (err error) {
	c.Sel, err = plugin.DecodeTables(md, c.Modules, "modules")
	return err
}

// writeFile writes name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const keysFile = "k1 0123456789abcdef-test-key\nk2 fedcba9876543210-other-key\n"

// TestConfigTable: [modules."auth.token"] decodes into the module, its relative keys_file is
// found beside the config file, and the host provisions it.
func TestConfigTable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "token.keys", keysFile)
	p := writeFile(t, dir, "origin.toml", `[modules."auth.token"]
keys_file = "token.keys"
protect = ["publish", "play"]
leeway = "30s"
`)
	var c conf
	if err := config.Load(p, &c); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h, err := plugin.NewHost(c.Sel, plugin.Context{Log: zerolog.New(&logs), ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Sel.Modules()[0].(*Module)
	if m.Leeway != 30*time.Second || !m.protect[plugin.ActPlay] || m.protect[plugin.ActConnect] {
		t.Fatalf("module %+v", m)
	}
	d := h.Authorize(context.Background(), &plugin.Request{Action: plugin.ActPlay, App: "live", Instance: "_definst_", Stream: "cam"})
	if d.Verdict != plugin.Reject || !strings.Contains(d.Reason, "token required to play (?token=)") {
		t.Fatalf("play without a token: %+v", d)
	}
	if strings.Contains(logs.String(), "0123456789abcdef") {
		t.Fatalf("a key is logged:\n%s", logs.String())
	}
	if err := config.Load(writeFile(t, dir, "bad.toml", "[modules.\"auth.token\"]\nkeys_file = \"token.keys\"\nprotekt = [\"play\"]\n"), &c); err == nil ||
		!strings.Contains(err.Error(), ":3:") {
		t.Fatalf("misspelt key: %v", err)
	}
}

// TestProvisionRefuses: a missing, empty or weak keys file, or a bad protect list, stops the
// start with a message naming the module.
func TestProvisionRefuses(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.keys", keysFile)
	for name, tc := range map[string]struct {
		m    *Module
		want string
	}{
		"no file":       {&Module{}, "keys_file is required"},
		"missing":       {&Module{KeysFile: "nope.keys"}, "no such file"},
		"empty":         {&Module{KeysFile: writeFile(t, dir, "empty.keys", "# none\n")}, "no keys"},
		"short":         {&Module{KeysFile: writeFile(t, dir, "short.keys", "k1 0123456789abcde\n")}, "want at least 16"},
		"bad protect":   {&Module{KeysFile: good, Protect: []string{"publish", "seek"}}, `unknown action "seek"`},
		"empty protect": {&Module{KeysFile: good, Protect: []string{}}, "protect is empty"},
		"leeway":        {&Module{KeysFile: good, Leeway: 2 * time.Hour}, "leeway 2h0m0s"},
		"param":         {&Module{KeysFile: good, Param: "a b"}, "needs escaping"},
		"both keys":     {&Module{KeysFile: good, Keys: testRing(t)}, "both set"},
	} {
		var sel plugin.Selection
		sel.Add(tc.m)
		_, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop(), ConfigDir: dir})
		if err == nil || !strings.Contains(err.Error(), "module auth.token") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestWarnsWorldReadableKeys(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "token.keys", keysFile)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := &Module{KeysFile: p}
	if err := m.Provision(plugin.Context{Log: zerolog.New(&logs)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "readable by every user") {
		t.Fatalf("no warning:\n%s", logs.String())
	}
}

// provisioned is a module with the test keys at testNow.
func provisioned(t *testing.T, m *Module) *Module {
	t.Helper()
	m.Keys, m.now = testRing(t), func() time.Time { return testNow }
	if err := m.Provision(plugin.Context{Log: zerolog.Nop()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAuthorizeFindsToken: where the token is looked for, per action and config.
func TestAuthorizeFindsToken(t *testing.T) {
	pubTok := mint(t, testKey, "k1", publishCam(time.Hour))
	playTok := mint(t, testKey, "k1", Claims{App: "live", Stream: "cam", Actions: []plugin.Action{plugin.ActPlay}, Expires: testNow.Add(time.Hour)})
	def := provisioned(t, &Module{})
	all := provisioned(t, &Module{Protect: []string{"connect", "publish", "play"}})
	strict := provisioned(t, &Module{Protect: []string{"publish"}, StreamTokenOnly: true})
	custom := provisioned(t, &Module{Param: "t"})
	r := func(a plugin.Action, stream, sq, cq string) *plugin.Request {
		return &plugin.Request{Action: a, App: "live", Instance: "_definst_", Stream: stream, StreamQuery: sq, ConnectQuery: cq}
	}
	cases := []struct {
		name string
		m    *Module
		req  *plugin.Request
		want plugin.Verdict
		why  error
	}{
		{"publish on stream", def, r(plugin.ActPublish, "cam", "token="+pubTok, ""), plugin.Accept, nil},
		{"publish on connect", def, r(plugin.ActPublish, "cam", "", "token="+pubTok), plugin.Accept, nil},
		{"stream token wins", def, r(plugin.ActPublish, "cam", "token="+pubTok, "token=junk"), plugin.Accept, nil},
		{"bad stream token, good connect one", def, r(plugin.ActPublish, "cam", "token=junk", "token="+pubTok), plugin.Reject, ErrMalformed},
		{"missing", def, r(plugin.ActPublish, "cam", "x=1", ""), plugin.Reject, ErrMissing},
		{"other params", def, r(plugin.ActPublish, "cam", "a=1&token="+pubTok+"&b=2", ""), plugin.Accept, nil},
		{"play unprotected", def, r(plugin.ActPlay, "cam", "", ""), plugin.Abstain, nil},
		{"connect unprotected", def, r(plugin.ActConnect, "", "", ""), plugin.Abstain, nil},
		{"seek never", all, r(plugin.ActSeek, "cam", "", ""), plugin.Abstain, nil},
		{"connect protected", all, r(plugin.ActConnect, "", "", ""), plugin.Reject, ErrMissing},
		{"connect with play token", all, r(plugin.ActConnect, "", "", "token="+playTok), plugin.Accept, nil},
		{"connect ignores stream query", all, r(plugin.ActConnect, "", "token="+playTok, ""), plugin.Reject, ErrMissing},
		{"play with publish token", all, r(plugin.ActPlay, "cam", "token="+pubTok, ""), plugin.Reject, ErrWrongAction},
		{"stream only: connect token ignored", strict, r(plugin.ActPublish, "cam", "", "token="+pubTok), plugin.Reject, ErrMissing},
		{"stream only: stream token", strict, r(plugin.ActPublish, "cam", "token="+pubTok, ""), plugin.Accept, nil},
		{"custom param", custom, r(plugin.ActPublish, "cam", "t="+pubTok, ""), plugin.Accept, nil},
		{"custom param, token= ignored", custom, r(plugin.ActPublish, "cam", "token="+pubTok, ""), plugin.Reject, ErrMissing},
		{"unprovisioned fails closed", &Module{protect: def.protect}, r(plugin.ActPublish, "cam", "token="+pubTok, ""), plugin.Reject, nil},
	}
	for _, tc := range cases {
		d := tc.m.Authorize(context.Background(), tc.req)
		if d.Verdict != tc.want {
			t.Errorf("%s: %+v, want verdict %d", tc.name, d, tc.want)
			continue
		}
		if tc.why != nil && !strings.HasPrefix(d.Reason, tc.why.Error()) {
			t.Errorf("%s: reason %q, want %q", tc.name, d.Reason, tc.why)
		}
		if strings.Contains(d.Reason, pubTok) || strings.Contains(d.Reason, playTok) {
			t.Errorf("%s: the reason shows the token", tc.name)
		}
	}
}

// TestReasonsOfTheTable: the reason the client gets for each verifyCase names its error.
func TestReasonsOfTheTable(t *testing.T) {
	m := provisioned(t, &Module{Protect: []string{"connect", "publish", "play"}})
	for _, tc := range verifyCases(t) {
		if tc.token == "" {
			continue
		}
		r := *tc.req
		r.StreamQuery = "token=" + tc.token
		r.ConnectQuery = r.StreamQuery
		d := m.Authorize(context.Background(), &r)
		switch {
		case tc.want == nil && d.Verdict != plugin.Accept:
			t.Errorf("%s: %+v", tc.name, d)
		case tc.want != nil && (d.Verdict != plugin.Reject || !strings.HasPrefix(d.Reason, tc.want.Error())):
			t.Errorf("%s: %+v, want reason %q", tc.name, d, tc.want)
		}
	}
	if !errors.Is(m.check(&plugin.Request{Action: plugin.ActPlay}), ErrMissing) {
		t.Fatal("no token is not ErrMissing")
	}
}

// BenchmarkAuthorizePublish is the module's cost per protected publish with a valid token on
// the stream name (query parse, HMAC, claims decode): the bench compares connect and
// fan-out cost with and without auth.token.
func BenchmarkAuthorizePublish(b *testing.B) {
	m := &Module{Keys: testRing(b), now: func() time.Time { return testNow }}
	if err := m.Provision(plugin.Context{Log: zerolog.Nop()}); err != nil {
		b.Fatal(err)
	}
	r := &plugin.Request{Action: plugin.ActPublish, App: "live", Instance: "_definst_", Stream: "cam",
		StreamQuery: "token=" + mint(b, testKey, "k1", publishCam(time.Hour))}
	b.ReportAllocs()
	for b.Loop() {
		if d := m.Authorize(context.Background(), r); d.Verdict != plugin.Accept {
			b.Fatal(d.Reason)
		}
	}
}

// TestVerifiedTokensKeepExpiring: a token checked once is not verified again, but its expiry is
// still checked at every use; a forged variant is refused and not kept.
func TestVerifiedTokensKeepExpiring(t *testing.T) {
	tok := mint(t, testKey, "k1", publishCam(time.Hour))
	m := provisioned(t, &Module{})
	req := &plugin.Request{Action: plugin.ActPublish, App: "live", Instance: "_definst_", Stream: "cam", StreamQuery: "token=" + tok}
	if d := m.Authorize(context.Background(), req); d.Verdict != plugin.Accept {
		t.Fatalf("valid token: %+v", d)
	}
	if _, ok := m.verified.get(tok); !ok {
		t.Fatal("the verified token is not kept")
	}
	forged := tok[:len(tok)-2] + "AA"
	if forged == tok {
		forged = tok[:len(tok)-2] + "BB"
	}
	req.StreamQuery = "token=" + forged
	if d := m.Authorize(context.Background(), req); d.Verdict != plugin.Reject {
		t.Fatalf("forged token: %+v", d)
	}
	if _, ok := m.verified.get(forged); ok {
		t.Fatal("a forged token is kept")
	}
	m.now = func() time.Time { return testNow.Add(2 * time.Hour) }
	req.StreamQuery = "token=" + tok
	if d := m.Authorize(context.Background(), req); d.Verdict != plugin.Reject || !strings.Contains(d.Reason, "expired") {
		t.Fatalf("the kept token after its expiry: %+v", d)
	}
}
