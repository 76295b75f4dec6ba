package authtoken

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// ID is the module's registered ID, the name of its config table: [modules."auth.token"].
const ID = "auth.token"

// maxLeeway bounds the clock-skew allowance: more than that is a token lifetime, not skew.
const maxLeeway = time.Hour

func init() {
	plugin.Register(plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }})
}

// Module is the auth.token module: it refuses the protected requests that carry no valid
// token. Its exported fields with toml tags are its config table.
type Module struct {
	// KeysFile is the keys file (`KID SECRET` per line, see LoadKeys); a relative path is
	// resolved against the config file's folder.
	KeysFile string `toml:"keys_file"`
	// Protect lists the actions that need a token: "connect", "publish", "play" (default
	// ["publish"]). The others are left to the other modules and the app.
	Protect []string `toml:"protect"`
	// Leeway is the clock skew allowed between the minting machine and the origin, applied to
	// the expiry and the not-before time ("30s"; default none).
	Leeway time.Duration `toml:"leeway"`
	// Param is the query parameter that carries the token (default "token").
	Param string `toml:"param"`
	// StreamTokenOnly refuses publish and play whose stream name has no token even if the
	// connect URL has one (by default the connect URL's token is used then).
	StreamTokenOnly bool `toml:"stream_token_only"`
	// Keys, when set, is the keyring to use instead of KeysFile (programs configuring in Go).
	Keys *Keyring `toml:"-"`

	keys    *Keyring
	protect [plugin.ActSharedObject + 1]bool
	log     zerolog.Logger
	now     func() time.Time
	// verified keeps the claims of tokens whose signature checked out (see verifiedTokens).
	verified verifiedTokens
}

// PluginInfo registers auth.token.
func (*Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }}
}

// Provision applies the defaults and reads the keys: a missing or empty keys file, or a key
// shorter than MinKeyLen, stops the server's start.
func (m *Module) Provision(ctx plugin.Context) error {
	m.log = ctx.Log
	if m.now == nil {
		m.now = time.Now
	}
	if m.Param == "" {
		m.Param = "token"
	}
	if m.Protect == nil {
		m.Protect = []string{"publish"}
	}
	for _, name := range m.Protect {
		if a, ok := tokenActions[name]; ok {
			m.protect[a] = true
		}
	}
	switch {
	case m.Keys != nil && m.KeysFile != "":
		return errors.New("keys_file and Keys are both set")
	case m.Keys != nil:
		m.keys = m.Keys
		return nil
	case m.KeysFile == "":
		return errors.New("keys_file is required")
	}
	path := m.KeysFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(ctx.ConfigDir, path)
	}
	k, err := LoadKeys(path)
	if err != nil {
		return err
	}
	m.keys = k
	warnIfReadable(m.log, path)
	m.log.Info().Str("keys_file", path).Strs("kids", k.KIDs()).Strs("protect", m.Protect).Msg("token keys loaded")
	return nil
}

// Validate checks the config once provisioned.
func (m *Module) Validate() error {
	if m.keys == nil {
		return errors.New("no keys")
	}
	if len(m.Protect) == 0 {
		return errors.New("protect is empty: the module would check nothing")
	}
	for _, name := range m.Protect {
		if _, ok := tokenActions[name]; !ok {
			return fmt.Errorf("protect: unknown action %q (connect, publish, play)", name)
		}
	}
	if m.Leeway < 0 || m.Leeway > maxLeeway {
		return fmt.Errorf("leeway %s: want 0 to %s", m.Leeway, maxLeeway)
	}
	if url.QueryEscape(m.Param) != m.Param {
		return fmt.Errorf("param %q needs escaping in a URL", m.Param)
	}
	return nil
}

// Authorize accepts a protected request whose token is valid for it, refuses one without a
// token or with an invalid one (the reason says which check failed), and abstains on the
// actions it does not protect. It is safe for concurrent use: it only reads the module.
func (m *Module) Authorize(_ context.Context, req *plugin.Request) plugin.Decision {
	if int(req.Action) >= len(m.protect) || !m.protect[req.Action] {
		return plugin.Decision{Verdict: plugin.Abstain}
	}
	if m.keys == nil {
		return plugin.Decision{Verdict: plugin.Reject, Reason: ID + " is not provisioned"}
	}
	err := m.check(req)
	if err != nil {
		m.log.Debug().Str("action", req.Action.String()).Str("app", req.App).Str("stream", req.Stream).
			Str("client", req.ClientID).Err(err).Msg("token refused")
		return plugin.Decision{Verdict: plugin.Reject, Reason: err.Error()}
	}
	return plugin.Decision{Verdict: plugin.Accept}
}

// check verifies req's token and that it covers req.
func (m *Module) check(req *plugin.Request) error {
	tok := m.token(req)
	if tok == "" {
		return fmt.Errorf("%w to %s (?%s=)", ErrMissing, req.Action, m.Param)
	}
	c, ok := m.verified.get(tok)
	if !ok {
		var err error
		if c, err = verifySigned(tok, m.keys); err != nil {
			return err
		}
		m.verified.put(tok, c)
	}
	if err := c.validAt(m.now(), m.Leeway); err != nil {
		return err
	}
	return c.Permits(req)
}

// token finds req's token: a connect's on the connect URL; a publish's or play's on the stream
// name, else (unless StreamTokenOnly) on the connect URL.
func (m *Module) token(req *plugin.Request) string {
	if req.Action != plugin.ActConnect {
		if t := queryParam(req.StreamQuery, m.Param); t != "" || m.StreamTokenOnly {
			return t
		}
	}
	return queryParam(req.ConnectQuery, m.Param)
}

// queryParam is the first value of name in a raw query ("" when absent).
//
// It reads the query the way url.ParseQuery(raw).Get(name) does (FuzzQueryParam), without
// making a map of every parameter on each request.
func queryParam(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(kv, ";") {
			continue // url.ParseQuery refuses such a pair too
		}
		k, v, _ := strings.Cut(kv, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			return uv
		}
	}
	return ""
}

// warnIfReadable warns when other users may read the keys file: anyone who can read it can
// mint tokens.
func warnIfReadable(log zerolog.Logger, path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
		log.Warn().Str("keys_file", path).Str("mode", fi.Mode().Perm().String()).
			Msg("the token keys file is readable by every user: chmod 600 it")
	}
}

var (
	_ plugin.Authorizer  = (*Module)(nil)
	_ plugin.Provisioner = (*Module)(nil)
	_ plugin.Validator   = (*Module)(nil)
)
