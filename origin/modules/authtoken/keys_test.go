package authtoken

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys(strings.NewReader("# token keys\n\nold  0123456789abcdef\n  new\tZm9vYmFyYmF6cXV4cXV1eA==  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := k.KIDs(); !slices.Equal(got, []string{"old", "new"}) {
		t.Fatalf("kids %v", got)
	}
	if s, ok := k.Key("new"); !ok || string(s) != "Zm9vYmFyYmF6cXV4cXV1eA==" {
		t.Fatalf("key new = %q, %v", s, ok)
	}
}

// TestParseKeysRefuses: empty files, short keys, bad ids and duplicates stop provisioning, and
// the error names the line but never shows the secret.
func TestParseKeysRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"empty":      {"", "no keys"},
		"comments":   {"# nothing\n\n", "no keys"},
		"short":      {"k1 0123456789abcdef\nk2 short-secret\n", "line 2: key \"k2\" is 12 bytes, want at least 16"},
		"one field":  {"0123456789abcdef\n", "line 1: want `KID SECRET`"},
		"3 fields":   {"k1 0123456789abcdef x\n", "line 1: want `KID SECRET`"},
		"bad kid":    {"k.1 0123456789abcdef\n", "line 1: key id \"k.1\""},
		"duplicate":  {"k1 0123456789abcdef\nk1 fedcba9876543210\n", "line 2: key id \"k1\" appears twice"},
		"long kid":   {strings.Repeat("k", 65) + " 0123456789abcdef\n", "line 1: key id"},
		"long line":  {"k1 " + strings.Repeat("x", 70_000) + "\n", "too long"},
		"no newline": {"k1 short", "is 5 bytes"},
	} {
		_, err := ParseKeys(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), "0123456789abcdef")) {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
}

func TestLoadKeysNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token.keys")
	if err := os.WriteFile(p, []byte("k1 tiny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name the file", err)
	}
	if _, err := LoadKeys(p + ".missing"); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestNewKeyring(t *testing.T) {
	if _, err := NewKeyring(nil); err == nil {
		t.Fatal("an empty keyring was made")
	}
	if _, err := NewKeyring(map[string][]byte{"k1": []byte("short")}); err == nil {
		t.Fatal("a short key was taken")
	}
	k, err := NewKeyring(map[string][]byte{"b": testKey, "a": otherKey})
	if err != nil || !slices.Equal(k.KIDs(), []string{"a", "b"}) {
		t.Fatalf("%v %v", k, err)
	}
	var none *Keyring
	if _, ok := none.Key("a"); ok {
		t.Fatal("a nil keyring has a key")
	}
}
