// Command fmsgo-token mints, checks and makes keys for the auth.token module's tokens, so that
// an operator (or a shell script in front of the origin) can hand out publish and play tokens
// without writing Go:
//
//	fmsgo-token -genkey k2 >> token.keys
//	fmsgo-token -keys token.keys -app live -stream cam -act publish -ttl 2h
//	fmsgo-token -keys token.keys -app live -stream cam -act play -url rtmp://host/live/cam
//	fmsgo-token -keys token.keys -verify TOKEN
//
// It prints the token (or the URL with ?token= added) on stdout. Without -kid it signs with
// the last key of the file: append a new key line and new tokens use it (rotation).
package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/authtoken"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	keys, kid, app, stream, act, url, verify, genkey string
	ttl                                              time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("fmsgo-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.keys, "keys", "", "keys file (`KID SECRET` per line)")
	fs.StringVar(&o.kid, "kid", "", "key id to sign with (default: the file's last key)")
	fs.StringVar(&o.app, "app", "", `application: "live", "live/room1" (one instance) or "*"`)
	fs.StringVar(&o.stream, "stream", "", `stream name: "cam", a prefix "cam-*", or "*" (not needed for -act connect)`)
	fs.StringVar(&o.act, "act", "publish", "comma-separated actions: connect, publish, play")
	fs.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token is valid")
	fs.StringVar(&o.url, "url", "", "print this URL with ?token= (or &token=) added instead of the bare token")
	fs.StringVar(&o.verify, "verify", "", "check this token against -keys and print what it grants")
	fs.StringVar(&o.genkey, "genkey", "", "print a new key line `KID SECRET` with a random 32-byte secret")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	out, err := o.do(time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "fmsgo-token:", err)
		return 1
	}
	fmt.Fprintln(stdout, out)
	return 0
}

// do runs the mode the flags chose and returns what to print.
func (o options) do(now time.Time) (string, error) {
	if o.genkey != "" {
		return genKey(o.genkey)
	}
	if o.keys == "" {
		return "", errors.New("-keys is required")
	}
	ring, err := authtoken.LoadKeys(o.keys)
	if err != nil {
		return "", err
	}
	if o.verify != "" {
		return describe(ring, o.verify, now)
	}
	return o.sign(ring, now)
}

func (o options) sign(ring *authtoken.Keyring, now time.Time) (string, error) {
	kid := o.kid
	if kid == "" {
		kids := ring.KIDs()
		kid = kids[len(kids)-1]
	}
	key, ok := ring.Key(kid)
	if !ok {
		return "", fmt.Errorf("no key %q in %s (it has %s)", kid, o.keys, strings.Join(ring.KIDs(), ", "))
	}
	if o.ttl <= 0 {
		return "", errors.New("-ttl must be positive")
	}
	c := authtoken.Claims{App: o.app, Stream: o.stream, Expires: now.Add(o.ttl)}
	for _, name := range strings.Split(o.act, ",") {
		a, ok := actions[strings.TrimSpace(name)]
		if !ok {
			return "", fmt.Errorf("-act %q: want connect, publish or play", name)
		}
		c.Actions = append(c.Actions, a)
	}
	tok, err := authtoken.Sign(key, kid, c)
	if err != nil || o.url == "" {
		return tok, err
	}
	sep := "?"
	if strings.Contains(o.url, "?") {
		sep = "&"
	}
	return o.url + sep + "token=" + tok, nil
}

var actions = map[string]plugin.Action{"connect": plugin.ActConnect, "publish": plugin.ActPublish, "play": plugin.ActPlay}

// describe verifies a token and says what it grants.
func describe(ring *authtoken.Keyring, tok string, now time.Time) (string, error) {
	c, err := authtoken.Verify(tok, ring, now, 0)
	if err != nil {
		return "", err
	}
	acts := make([]string, len(c.Actions))
	for i, a := range c.Actions {
		acts[i] = a.String()
	}
	s := fmt.Sprintf("valid: app=%s stream=%s act=%s expires=%s (in %s)", c.App, c.Stream, strings.Join(acts, ","),
		c.Expires.UTC().Format(time.RFC3339), c.Expires.Sub(now).Truncate(time.Second))
	if !c.NotBefore.IsZero() {
		s += " not-before=" + c.NotBefore.UTC().Format(time.RFC3339)
	}
	return s, nil
}

// genKey makes a key line with 32 random bytes, base64url (the secret is those 43 characters).
func genKey(kid string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	line := kid + " " + base64.RawURLEncoding.EncodeToString(b)
	if _, err := authtoken.ParseKeys(strings.NewReader(line)); err != nil {
		return "", err
	}
	return line, nil
}
