package authtoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// MaxTokenLen bounds a token's length before anything is decoded: a real one is ~150-250
// bytes; a longer value is refused as malformed without being parsed.
const MaxTokenLen = 1024

// version is the token format's prefix: v1.KID.PAYLOAD.MAC.
const version = "v1"

// The reasons a token is refused. Each is distinct so that the client's status description
// (and the server's info log) says what to fix; none contains the token or a key.
var (
	ErrMissing      = errors.New("token required")
	ErrMalformed    = errors.New("malformed token")
	ErrUnknownKey   = errors.New("token signed with an unknown key")
	ErrBadSignature = errors.New("bad token signature")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not valid yet")
	ErrWrongApp     = errors.New("token is for another application")
	ErrWrongStream  = errors.New("token is for another stream")
	ErrWrongAction  = errors.New("token does not allow this action")
)

// Claims is what a token grants: actions on a stream of an application until it expires.
type Claims struct {
	// App is the application the token is for: "live" (any instance), "live/room1" (that
	// instance only) or "*" (any application).
	App string
	// Stream is the stream name (without query) for publish and play: "cam" exactly, "cam-*"
	// (any name with that prefix) or "*" (any). It may be empty only in a connect-only token.
	Stream string
	// Actions are the requests the token allows: plugin.ActConnect, ActPublish, ActPlay. A
	// token that allows publish or play also allows connecting to its application.
	Actions []plugin.Action
	// Expires is when the token stops being valid (required; second precision).
	Expires time.Time
	// NotBefore, when set, is when it starts being valid.
	NotBefore time.Time
}

// wireClaims is the signed JSON payload.
type wireClaims struct {
	App    string   `json:"app"`
	Stream string   `json:"stream,omitempty"`
	Act    []string `json:"act"`
	Exp    int64    `json:"exp"`
	Nbf    int64    `json:"nbf,omitempty"`
}

// tokenActions are the actions a token may name, by their wire names.
var tokenActions = map[string]plugin.Action{
	"connect": plugin.ActConnect, "publish": plugin.ActPublish, "play": plugin.ActPlay,
}

// Sign mints a token for c, signed with key under the key id kid (the kid tells the verifier
// which key of its keys file to use). The token is URL-safe: it goes into ?token= unescaped.
func Sign(key []byte, kid string, c Claims) (string, error) {
	if len(key) < MinKeyLen {
		return "", fmt.Errorf("key %q is %d bytes, want at least %d", kid, len(key), MinKeyLen)
	}
	if !validKID(kid) {
		return "", fmt.Errorf("key id %q: want 1-%d letters, digits, '-' or '_'", kid, maxKIDLen)
	}
	if err := c.check(); err != nil {
		return "", err
	}
	w := wireClaims{App: c.App, Stream: c.Stream, Exp: c.Expires.Unix()}
	if !c.NotBefore.IsZero() {
		w.Nbf = c.NotBefore.Unix()
	}
	for _, a := range c.Actions {
		w.Act = append(w.Act, a.String())
	}
	js, err := json.Marshal(w)
	if err != nil {
		return "", err
	}
	signed := version + "." + kid + "." + base64.RawURLEncoding.EncodeToString(js)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed)), nil
}

// check is what a token's claims must satisfy, minted or received.
func (c Claims) check() error {
	if c.App == "" {
		return errors.New("claims: no application")
	}
	if len(c.Actions) == 0 {
		return errors.New("claims: no action")
	}
	for _, a := range c.Actions {
		if _, ok := tokenActions[a.String()]; !ok {
			return fmt.Errorf("claims: action %s cannot be granted by a token (connect, publish, play)", a)
		}
		if a != plugin.ActConnect && c.Stream == "" {
			return fmt.Errorf("claims: %s needs a stream (a name, a prefix*, or *)", a)
		}
	}
	if c.Expires.IsZero() {
		return errors.New("claims: no expiry")
	}
	return nil
}

// Verify checks token's signature against keys and its validity at now (with leeway for
// clock skew either way), and returns its claims. The error wraps one of ErrMalformed,
// ErrUnknownKey, ErrBadSignature, ErrExpired, ErrNotYetValid. The signature is checked before
// the payload is decoded, so unsigned input never reaches the JSON decoder.
func Verify(token string, keys *Keyring, now time.Time, leeway time.Duration) (Claims, error) {
	c, err := verifySigned(token, keys)
	if err != nil {
		return Claims{}, err
	}
	return c, c.validAt(now, leeway)
}

// verifySigned checks token's form and signature and decodes its claims: what does not depend
// on the time, so its result may be kept for the same token.
func verifySigned(token string, keys *Keyring) (Claims, error) {
	p, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	var buf [sha256.Size]byte
	sum, ok := keys.sum(buf[:0], p.kid, p.signed)
	if !ok {
		return Claims{}, fmt.Errorf("%w (key id %q)", ErrUnknownKey, p.kid)
	}
	if !hmac.Equal(p.sig, sum) {
		return Claims{}, ErrBadSignature
	}
	return decodeClaims(p.payload)
}

// validAt checks the claims' expiry and not-before at now, with leeway either way.
func (c Claims) validAt(now time.Time, leeway time.Duration) error {
	if now.After(c.Expires.Add(leeway)) {
		return fmt.Errorf("%w %s ago", ErrExpired, now.Sub(c.Expires).Truncate(time.Second))
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return fmt.Errorf("%w (in %s)", ErrNotYetValid, c.NotBefore.Sub(now).Truncate(time.Second))
	}
	return nil
}

// parts is a token taken apart: the key id, the signed text (v1.KID.PAYLOAD), and the decoded
// payload and MAC.
type parts struct {
	kid, signed  string
	payload, sig []byte
}

// split takes v1.KID.PAYLOAD.MAC apart.
func split(token string) (p parts, err error) {
	if len(token) > MaxTokenLen {
		return p, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	if !urlSafe(token) {
		return p, fmt.Errorf("%w: a character outside base64url and '.'", ErrMalformed)
	}
	ver, rest, ok := strings.Cut(token, ".")
	if !ok || ver != version {
		return p, fmt.Errorf("%w: not a %s token", ErrMalformed, version)
	}
	p.kid, rest, ok = strings.Cut(rest, ".")
	if !ok || !validKID(p.kid) {
		return p, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return p, fmt.Errorf("%w: want 4 dot-separated parts", ErrMalformed)
	}
	p.signed = token[:len(token)-len(s64)-1]
	enc := base64.RawURLEncoding.Strict()
	if p.payload, err = enc.DecodeString(p64); err != nil || len(p.payload) == 0 {
		return p, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if p.sig, err = enc.DecodeString(s64); err != nil || len(p.sig) != sha256.Size {
		return p, fmt.Errorf("%w: signature is not a base64url HMAC-SHA256", ErrMalformed)
	}
	return p, nil
}

// urlSafe reports whether s has only base64url's alphabet and dots (the base64 decoder would
// skip CR and LF: a token with them inside its MAC would verify as another spelling).
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// decodeClaims reads a signed payload strictly: unknown fields (a newer minter's restriction
// this server would not enforce) and unknown actions refuse the token.
func decodeClaims(payload []byte) (Claims, error) {
	w, ok := fastClaims(payload)
	if !ok {
		var err error
		if w, err = jsonClaims(payload); err != nil {
			return Claims{}, err
		}
	}
	c := Claims{App: w.App, Stream: w.Stream}
	if w.Exp != 0 {
		c.Expires = time.Unix(w.Exp, 0)
	}
	if w.Nbf != 0 {
		c.NotBefore = time.Unix(w.Nbf, 0)
	}
	for _, name := range w.Act {
		a, ok := tokenActions[name]
		if !ok {
			return Claims{}, fmt.Errorf("%w: unknown action %q", ErrMalformed, name)
		}
		c.Actions = append(c.Actions, a)
	}
	if err := c.check(); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// jsonClaims decodes the claims object with encoding/json: the definition of a valid payload.
func jsonClaims(payload []byte) (wireClaims, error) {
	var w wireClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return w, fmt.Errorf("%w: payload is not the claims object", ErrMalformed)
	}
	return w, nil
}

// mac is HMAC-SHA256 of the signed part (v1.KID.PAYLOAD) under key.
func mac(key []byte, signed string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(signed))
	return h.Sum(nil)
}

// Permits reports whether the claims cover req (app, action, stream); the error wraps
// ErrWrongApp, ErrWrongAction or ErrWrongStream. A connect is covered by any action on the
// app: a client has to connect to publish or play.
func (c Claims) Permits(req *plugin.Request) error {
	if c.App != "*" && c.App != req.App && c.App != req.App+"/"+req.Instance {
		return fmt.Errorf("%w (%s/%s)", ErrWrongApp, req.App, req.Instance)
	}
	if req.Action == plugin.ActConnect {
		return nil
	}
	allowed := false
	for _, a := range c.Actions {
		allowed = allowed || a == req.Action
	}
	if !allowed {
		return fmt.Errorf("%w: %s", ErrWrongAction, req.Action)
	}
	if !streamMatches(c.Stream, req.Stream) {
		return fmt.Errorf("%w than %q", ErrWrongStream, req.Stream)
	}
	return nil
}

// streamMatches applies a token's stream pattern: exact, prefix*, or *.
func streamMatches(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}
