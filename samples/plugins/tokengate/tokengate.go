// Package tokengate is a complete example of an fmsgo plug-in module, written the way
// docs/plugins.md describes: its own Go module, registered by ID in init(), configured by its
// [modules."auth.tokengate"] table, and built into an origin with
//
//	go run ./origin/cmd/fmsgo-build --with example.com/tokengate=samples/plugins/tokengate -o bin/origin
//
// It refuses a publish (or any action listed in actions) whose ?token= is not one of the
// configured tokens: a shared-secret gate for a small site. For signed, expiring tokens bound to
// a stream, use the shipped auth.token module instead. It also shows an events sink (it logs
// each published stream's end with its duration) and the lifecycle interfaces.
package tokengate

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// ID is the module's ID: the auth namespace, then its name. It is the key of its config table,
// [modules."auth.tokengate"].
const ID = "auth.tokengate"

// Register the module when the binary starts: every module of the binary is known before the
// config is read, and the config chooses which run. Only the registration happens here; the
// work starts in Provision.
func init() {
	plugin.Register(plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }})
}

// Module is the module's value; the config table is decoded into its toml-tagged fields (a key
// the table has and these fields lack is a config error naming its line).
type Module struct {
	// Tokens are the accepted tokens, written in the config itself.
	Tokens []string `toml:"tokens"`
	// TokensFile holds more, one per line (blank lines and lines starting with # skipped);
	// a relative path is relative to the config file's folder.
	TokensFile string `toml:"tokens_file"`
	// Actions are the requests that need a token: "publish" (the default), "play", "connect".
	Actions []string `toml:"actions"`

	log     zerolog.Logger
	digests map[[sha256.Size]byte]bool // the tokens' SHA-256: a lookup time says nothing of a token
	gated   map[plugin.Action]bool
	refused atomic.Uint64 // requests refused so far (Authorize runs on many sessions at once)
}

// The interfaces the module implements, checked by the compiler (interface guards): if a
// method's signature drifts from the extension point's, the build fails here instead of the
// host silently not seeing it.
var (
	_ plugin.Module      = (*Module)(nil)
	_ plugin.Provisioner = (*Module)(nil)
	_ plugin.Validator   = (*Module)(nil)
	_ plugin.Stopper     = (*Module)(nil)
	_ plugin.Authorizer  = (*Module)(nil)
	_ plugin.EventSink   = (*Module)(nil)
)

// PluginInfo is the module's registration (it must not depend on the fields).
func (*Module) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: ID, New: func() plugin.Module { return new(Module) }}
}

// Provision runs once, after the table is decoded: it reads the tokens file and sets defaults.
// An error stops the origin's start, prefixed with the module's ID.
func (m *Module) Provision(ctx plugin.Context) error {
	m.log = ctx.Log
	tokens := append([]string(nil), m.Tokens...)
	if m.TokensFile != "" {
		path := m.TokensFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(ctx.ConfigDir, path)
		}
		more, err := readTokens(path)
		if err != nil {
			return err
		}
		tokens = append(tokens, more...)
	}
	m.digests = map[[sha256.Size]byte]bool{}
	for _, t := range tokens {
		m.digests[sha256.Sum256([]byte(t))] = true
	}
	if len(m.Actions) == 0 {
		m.Actions = []string{"publish"}
	}
	return nil
}

// readTokens reads a tokens file.
func readTokens(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var tokens []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			tokens = append(tokens, line)
		}
	}
	return tokens, sc.Err()
}

// actionByName maps the config's action names to the auth extension point's actions.
var actionByName = map[string]plugin.Action{
	"connect": plugin.ActConnect, "publish": plugin.ActPublish, "play": plugin.ActPlay,
}

// Validate checks the provisioned config: a gate without tokens would refuse everything, which
// is a mistake to report at start, not a policy.
func (m *Module) Validate() error {
	if len(m.digests) == 0 {
		return errors.New("no tokens: set tokens or tokens_file")
	}
	m.gated = map[plugin.Action]bool{}
	for _, name := range m.Actions {
		a, ok := actionByName[name]
		if !ok {
			return fmt.Errorf("actions: %q is not connect, publish or play", name)
		}
		m.gated[a] = true
	}
	return nil
}

// Authorize is the auth extension point. It runs on the client's session goroutine, for direct
// clients and clients of an edge alike, before the app's onConnect/onPublish/onPlay, and must
// answer within its budget (3 s by default; this one answers at once). It abstains from the
// actions it does not gate, so that the other modules and the app decide them; it rejects a
// gated request without a known token, with a reason the client sees in its status
// description (NetStream.Publish.BadName for a publish).
func (m *Module) Authorize(_ context.Context, req *plugin.Request) plugin.Decision {
	if !m.gated[req.Action] {
		return plugin.Decision{Verdict: plugin.Abstain}
	}
	token := req.Query().Get("token") // the stream's ?query, else the connect's
	if token == "" {
		m.refused.Add(1)
		return plugin.Decision{Verdict: plugin.Reject, Reason: "tokengate: " + req.Action.String() + " needs ?token="}
	}
	if !m.digests[sha256.Sum256([]byte(token))] {
		m.refused.Add(1)
		return plugin.Decision{Verdict: plugin.Reject, Reason: "tokengate: token not accepted for " + req.Action.String()}
	}
	return plugin.Decision{Verdict: plugin.Accept}
}

// HandleEvent is the events extension point: it runs on the module's own goroutine, one event
// at a time in order, and may take its time (a slow sink only loses its own events, counted;
// the server never waits). This one logs the end of each published stream.
func (m *Module) HandleEvent(_ context.Context, ev *plugin.Event) {
	if ev.Kind == plugin.EvUnpublish {
		m.log.Info().Str("app", ev.App).Str("instance", ev.Instance).Str("stream", ev.Stream).
			Dur("duration", ev.Duration).Msg("stream unpublished")
	}
}

// Stop runs once when the origin stops, after its listeners have drained.
func (m *Module) Stop() error {
	m.log.Info().Uint64("refused", m.refused.Load()).Msg("tokengate stopped")
	return nil
}
