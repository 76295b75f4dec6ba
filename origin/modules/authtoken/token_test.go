package authtoken

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
)

var (
	testKey  = []byte("0123456789abcdef-test-key")
	otherKey = []byte("fedcba9876543210-other-key")
	testNow  = time.Unix(1_800_000_000, 0)
)

// testRing has k1 (testKey) and k2 (otherKey).
func testRing(t testing.TB) *Keyring {
	t.Helper()
	k, err := NewKeyring(map[string][]byte{"k1": testKey, "k2": otherKey})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mint(t testing.TB, key []byte, kid string, c Claims) string {
	t.Helper()
	tok, err := Sign(key, kid, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs an arbitrary payload: tokens whose MAC is right but whose claims are not.
func signRaw(key []byte, kid, payload string) string {
	signed := "v1." + kid + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed))
}

func publishCam(exp time.Duration) Claims {
	return Claims{App: "live", Stream: "cam", Actions: []plugin.Action{plugin.ActPublish}, Expires: testNow.Add(exp)}
}

func req(a plugin.Action, app, inst, stream string) *plugin.Request {
	return &plugin.Request{Action: a, App: app, Instance: inst, Stream: stream}
}

type verifyCase struct {
	name  string
	token string
	req   *plugin.Request
	want  error // nil: valid
}

// verifyCases are the sign/verify table; their tokens also seed FuzzVerify.
func verifyCases(t testing.TB) []verifyCase {
	pub := plugin.ActPublish
	valid := mint(t, testKey, "k1", publishCam(time.Hour))
	_, rest, _ := strings.Cut(valid, ".k1.")
	payload, sig, _ := strings.Cut(rest, ".")
	other := mint(t, testKey, "k1", Claims{App: "live", Stream: "other", Actions: []plugin.Action{pub}, Expires: testNow.Add(time.Hour)})
	otherPayload := strings.Split(other, ".")[2]
	return []verifyCase{
		{"valid", valid, req(pub, "live", "_definst_", "cam"), nil},
		{"valid-k2", mint(t, otherKey, "k2", publishCam(time.Hour)), req(pub, "live", "_definst_", "cam"), nil},
		{"valid-connect-implied", valid, req(plugin.ActConnect, "live", "_definst_", ""), nil},
		{"valid-prefix", mint(t, testKey, "k1", Claims{App: "live", Stream: "cam-*", Actions: []plugin.Action{plugin.ActPlay}, Expires: testNow.Add(time.Minute)}),
			req(plugin.ActPlay, "live", "_definst_", "cam-7"), nil},
		{"valid-any-app-stream", mint(t, testKey, "k1", Claims{App: "*", Stream: "*", Actions: []plugin.Action{pub, plugin.ActPlay}, Expires: testNow.Add(time.Minute)}),
			req(plugin.ActPlay, "chat", "room", "x"), nil},
		{"valid-instance", mint(t, testKey, "k1", Claims{App: "live/room1", Stream: "cam", Actions: []plugin.Action{pub}, Expires: testNow.Add(time.Minute)}),
			req(pub, "live", "room1", "cam"), nil},
		{"valid-connect-only", mint(t, testKey, "k1", Claims{App: "live", Actions: []plugin.Action{plugin.ActConnect}, Expires: testNow.Add(time.Minute)}),
			req(plugin.ActConnect, "live", "_definst_", ""), nil},
		{"expired", mint(t, testKey, "k1", publishCam(-time.Hour)), req(pub, "live", "_definst_", "cam"), ErrExpired},
		{"not-yet", mint(t, testKey, "k1", Claims{App: "live", Stream: "cam", Actions: []plugin.Action{pub}, Expires: testNow.Add(2 * time.Hour), NotBefore: testNow.Add(time.Hour)}),
			req(pub, "live", "_definst_", "cam"), ErrNotYetValid},
		{"wrong-stream", valid, req(pub, "live", "_definst_", "cam2"), ErrWrongStream},
		{"wrong-prefix", mint(t, testKey, "k1", Claims{App: "live", Stream: "cam-*", Actions: []plugin.Action{pub}, Expires: testNow.Add(time.Minute)}),
			req(pub, "live", "_definst_", "cam7"), ErrWrongStream},
		{"wrong-action", valid, req(plugin.ActPlay, "live", "_definst_", "cam"), ErrWrongAction},
		{"connect-only-no-publish", mint(t, testKey, "k1", Claims{App: "live", Actions: []plugin.Action{plugin.ActConnect}, Expires: testNow.Add(time.Minute)}),
			req(pub, "live", "_definst_", "cam"), ErrWrongAction},
		{"wrong-app", valid, req(pub, "chat", "_definst_", "cam"), ErrWrongApp},
		{"wrong-instance", mint(t, testKey, "k1", Claims{App: "live/room1", Stream: "cam", Actions: []plugin.Action{pub}, Expires: testNow.Add(time.Minute)}),
			req(pub, "live", "room2", "cam"), ErrWrongApp},
		{"bad-mac-other-key", mint(t, otherKey, "k1", publishCam(time.Hour)), req(pub, "live", "_definst_", "cam"), ErrBadSignature},
		{"bad-mac-swapped-payload", "v1.k1." + otherPayload + "." + sig, req(pub, "live", "_definst_", "other"), ErrBadSignature},
		{"bad-mac-kid-changed", "v1.k2." + payload + "." + sig, req(pub, "live", "_definst_", "cam"), ErrBadSignature},
		{"unknown-kid", mint(t, testKey, "k9", publishCam(time.Hour)), req(pub, "live", "_definst_", "cam"), ErrUnknownKey},
		{"malformed-empty", "", req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-version", "v2.k1." + payload + "." + sig, req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-3-parts", "v1.k1." + payload, req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-5-parts", valid + ".x", req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-no-kid", "v1.." + payload + "." + sig, req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-base64", "v1.k1.!!!." + sig, req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-newline-in-mac", valid[:len(valid)-3] + "\n" + valid[len(valid)-3:], req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-short-mac", "v1.k1." + payload + "." + sig[:20], req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"malformed-too-long", "v1.k1." + strings.Repeat("A", MaxTokenLen) + "." + sig, req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-not-json", signRaw(testKey, "k1", "hello"), req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-unknown-field", signRaw(testKey, "k1", `{"app":"live","stream":"cam","act":["publish"],"exp":1800003600,"ip":"10.0.0.1"}`),
			req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-unknown-action", signRaw(testKey, "k1", `{"app":"live","stream":"cam","act":["seek"],"exp":1800003600}`),
			req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-no-exp", signRaw(testKey, "k1", `{"app":"live","stream":"cam","act":["publish"]}`), req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-trailing", signRaw(testKey, "k1", `{"app":"live","stream":"cam","act":["publish"],"exp":1800003600} {}`),
			req(pub, "live", "_definst_", "cam"), ErrMalformed},
		{"signed-publish-no-stream", signRaw(testKey, "k1", `{"app":"live","act":["publish"],"exp":1800003600}`),
			req(pub, "live", "_definst_", ""), ErrMalformed},
	}
}

// TestVerifyTable: each way a token can be wrong is refused with its own error, and the valid
// ones grant what they say.
func TestVerifyTable(t *testing.T) {
	ring := testRing(t)
	for _, tc := range verifyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(tc.token, ring, testNow, 0)
			if err == nil {
				err = c.Permits(tc.req)
			}
			if tc.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), string(testKey)) {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}

// TestReasonsDistinct: the client-visible texts of the refusals differ from each other.
func TestReasonsDistinct(t *testing.T) {
	all := []error{ErrMissing, ErrMalformed, ErrUnknownKey, ErrBadSignature, ErrExpired, ErrNotYetValid, ErrWrongApp, ErrWrongStream, ErrWrongAction}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.Error()] {
			t.Fatalf("reason %q twice", e)
		}
		seen[e.Error()] = true
	}
}

func TestLeeway(t *testing.T) {
	ring := testRing(t)
	expired := mint(t, testKey, "k1", publishCam(-20*time.Second))
	if _, err := Verify(expired, ring, testNow, 30*time.Second); err != nil {
		t.Fatalf("20 s past expiry with 30 s leeway: %v", err)
	}
	if _, err := Verify(expired, ring, testNow, 10*time.Second); !errors.Is(err, ErrExpired) {
		t.Fatalf("20 s past expiry with 10 s leeway: %v", err)
	} else if !strings.Contains(err.Error(), "20s ago") {
		t.Fatalf("expiry reason %q does not say how long ago", err)
	}
	early := Claims{App: "live", Stream: "cam", Actions: []plugin.Action{plugin.ActPublish}, Expires: testNow.Add(time.Hour), NotBefore: testNow.Add(20 * time.Second)}
	if _, err := Verify(mint(t, testKey, "k1", early), ring, testNow, 30*time.Second); err != nil {
		t.Fatalf("20 s before nbf with 30 s leeway: %v", err)
	}
}

func TestSignRoundTrip(t *testing.T) {
	c := Claims{App: "live/room1", Stream: "cam-*", Actions: []plugin.Action{plugin.ActPublish, plugin.ActPlay},
		Expires: testNow.Add(time.Hour), NotBefore: testNow.Add(-time.Minute)}
	tok := mint(t, testKey, "k1", c)
	if strings.ContainsAny(tok, "+/=%?&# ") {
		t.Fatalf("token %q is not URL-safe", tok)
	}
	got, err := Verify(tok, testRing(t), testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.App != c.App || got.Stream != c.Stream || len(got.Actions) != 2 || !got.Expires.Equal(c.Expires) || !got.NotBefore.Equal(c.NotBefore) {
		t.Fatalf("claims %+v, want %+v", got, c)
	}
}

func TestSignRefuses(t *testing.T) {
	ok := publishCam(time.Hour)
	for name, f := range map[string]func() error{
		"short key": func() error { _, err := Sign([]byte("short"), "k1", ok); return err },
		"bad kid":   func() error { _, err := Sign(testKey, "k.1", ok); return err },
		"no app":    func() error { c := ok; c.App = ""; _, err := Sign(testKey, "k1", c); return err },
		"no action": func() error { c := ok; c.Actions = nil; _, err := Sign(testKey, "k1", c); return err },
		"seek": func() error {
			c := ok
			c.Actions = []plugin.Action{plugin.ActSeek}
			_, err := Sign(testKey, "k1", c)
			return err
		},
		"publish no stream": func() error { c := ok; c.Stream = ""; _, err := Sign(testKey, "k1", c); return err },
		"no expiry":         func() error { c := ok; c.Expires = time.Time{}; _, err := Sign(testKey, "k1", c); return err },
	} {
		if f() == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

// FuzzVerify: no input panics the parser; one that verifies is a canonical token (signing its
// claims again gives a token that verifies to the same claims).
func FuzzVerify(f *testing.F) {
	for _, tc := range verifyCases(f) {
		f.Add(tc.token)
	}
	f.Add("v1.k1..")
	f.Add("v1.k1.e30.")
	ring := testRing(f)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := Verify(tok, ring, testNow, time.Minute)
		if err != nil {
			return
		}
		again, err := Sign(testKey, "k1", c)
		if err != nil {
			t.Fatalf("verified claims %+v do not sign: %v", c, err)
		}
		c2, err := Verify(again, ring, testNow, time.Minute)
		if err != nil || c2.App != c.App || c2.Stream != c.Stream || !c2.Expires.Equal(c.Expires) {
			t.Fatalf("re-signed claims %+v -> %+v, %v", c, c2, err)
		}
	})
}

// FuzzSplit: the token parser takes apart only what it would put together.
func FuzzSplit(f *testing.F) {
	for _, tc := range verifyCases(f) {
		f.Add(tc.token)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := split(tok)
		if err != nil {
			return
		}
		enc := base64.RawURLEncoding
		if again := "v1." + p.kid + "." + enc.EncodeToString(p.payload) + "." + enc.EncodeToString(p.sig); again != tok {
			t.Fatalf("split %q, reassembled %q", tok, again)
		}
	})
}

// FuzzSignedPayload: a payload with a valid MAC (a key holder's mistake, or a newer minter)
// still goes through the strict claims decoder without a panic, and what it accepts re-signs.
func FuzzSignedPayload(f *testing.F) {
	for _, tc := range verifyCases(f) {
		if p, err := split(tc.token); err == nil {
			f.Add(p.payload)
		}
	}
	f.Add([]byte(`{"app":"live","stream":"cam","act":["publish","play","connect"],"exp":1800003600,"nbf":1}`))
	f.Add([]byte(`{"APP":"live","stream":"cam","act":["publish"],"exp":-1}`))
	ring := testRing(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok := signRaw(testKey, "k1", string(payload))
		c, err := Verify(tok, ring, testNow, time.Minute)
		if err != nil {
			if len(tok) <= MaxTokenLen && (errors.Is(err, ErrBadSignature) || errors.Is(err, ErrUnknownKey)) {
				t.Fatalf("a correctly signed payload: %v", err)
			}
			return
		}
		if _, err := Sign(testKey, "k1", c); err != nil {
			t.Fatalf("accepted claims %+v do not sign: %v", c, err)
		}
	})
}
