package authtoken

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
)

// MinKeyLen is the shortest secret accepted: an HMAC key shorter than 16 bytes is guessable.
const MinKeyLen = 16

// maxKIDLen bounds a key id (it travels in every token).
const maxKIDLen = 64

// maxKeysFile bounds the keys file read at provisioning.
const maxKeysFile = 1 << 20

// Keyring is the set of signing keys by key id. Several ids let keys rotate: sign new tokens
// with the new id while tokens of the old one still verify, then remove the old line. A
// Keyring is immutable once made, so every session goroutine may verify with it at once.
type Keyring struct {
	keys map[string][]byte
	kids []string // in file order
	// macs keeps a pool of keyed HMAC states per key id: hmac.New derives the padded key
	// states on each call, which was half of a token check's cost.
	macs map[string]*sync.Pool
}

// NewKeyring makes a keyring from secrets by key id (for programs that hold keys in Go); its
// KIDs are sorted.
func NewKeyring(keys map[string][]byte) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}, macs: map[string]*sync.Pool{}}
	for _, kid := range slices.Sorted(maps.Keys(keys)) {
		if err := k.add(kid, keys[kid]); err != nil {
			return nil, err
		}
	}
	if len(k.kids) == 0 {
		return nil, errors.New("no keys")
	}
	return k, nil
}

// LoadKeys reads a keys file: one `KID SECRET` per line, `#` starts a comment line, blank
// lines are skipped. SECRET is used as written (its bytes are the HMAC key), at least
// MinKeyLen bytes: e.g. the output of `openssl rand -base64 32` or `fmsgo-token -genkey KID`.
func LoadKeys(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := ParseKeys(io.LimitReader(f, maxKeysFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKeys reads the keys file format from r; errors name the line (never the secret).
func ParseKeys(r io.Reader) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}, macs: map[string]*sync.Pool{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want `KID SECRET`, got %d fields", n, len(f))
		}
		if err := k.add(f[0], []byte(f[1])); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(k.kids) == 0 {
		return nil, errors.New("no keys")
	}
	return k, nil
}

func (k *Keyring) add(kid string, secret []byte) error {
	if !validKID(kid) {
		return fmt.Errorf("key id %q: want 1-%d letters, digits, '-' or '_'", kid, maxKIDLen)
	}
	if len(secret) < MinKeyLen {
		return fmt.Errorf("key %q is %d bytes, want at least %d", kid, len(secret), MinKeyLen)
	}
	if _, dup := k.keys[kid]; dup {
		return fmt.Errorf("key id %q appears twice", kid)
	}
	key := append([]byte(nil), secret...)
	k.keys[kid] = key
	k.kids = append(k.kids, kid)
	k.macs[kid] = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	return nil
}

// sum appends HMAC-SHA256 of signed under kid's key to dst; ok is false for an unknown kid.
func (k *Keyring) sum(dst []byte, kid, signed string) ([]byte, bool) {
	if k == nil {
		return dst, false
	}
	pool := k.macs[kid]
	if pool == nil {
		return dst, false
	}
	h := pool.Get().(hash.Hash)
	h.Reset()
	io.WriteString(h, signed)
	dst = h.Sum(dst)
	pool.Put(h)
	return dst, true
}

// Key returns the secret of kid.
func (k *Keyring) Key(kid string) ([]byte, bool) {
	if k == nil {
		return nil, false
	}
	s, ok := k.keys[kid]
	return s, ok
}

// KIDs lists the key ids in file order.
func (k *Keyring) KIDs() []string { return append([]string(nil), k.kids...) }

// validKID: 1-64 of [A-Za-z0-9_-], so that a key id needs no escaping in a token or a URL.
func validKID(s string) bool {
	return s != "" && len(s) <= maxKIDLen && !strings.Contains(s, ".") && urlSafe(s)
}
