// Command edge runs the fmsgo edge: clients connect here, and each is carried to the origin that
// owns its application instance over one trunk connection per origin. It drains and exits on
// SIGINT/SIGTERM; SIGHUP re-reads -config.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/daemon"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/edge"
)

// gcPercent is the edge's default GOGC. An edge's heap is mostly the state of its connected
// clients, which barely changes while they stay connected, and its media path allocates little
// (a payload is shared by every player), so collecting at 50% heap growth instead of Go's 100%
// costs little CPU while the resident memory per client drops by the garbage that no longer
// waits for a collection. Measured with samples/bench on 2 cores: 5000 idle clients 19.1 -> 17.9
// KiB each, an edge fan-out of 1000 players 28.7 -> 22.1 KiB each with players per edge
// CPU-second within run-to-run noise (25 would reach 16.2 KiB per idle client but cost the
// fan-out visibly). GOGC (and GOMEMLIMIT) in the environment still win.
const gcPercent = 50

// tuneGC applies gcPercent unless the operator chose a GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

func main() {
	tuneGC()
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if config.FindFlag(args, "check-config") != "" || hasFlag(args, "check-config") {
		return checkConfig(args, os.Stdout)
	}
	cfg, prof, err := parseConfig(args)
	if err != nil {
		return err
	}
	log, err := logging.New(logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		return err
	}
	srv, err := edge.New(cfg, log)
	if err != nil {
		return err
	}
	// SIGHUP reads the same file again, with the same command-line flags on top.
	srv.SetConfigSource(func() (edge.Config, error) {
		cfg, _, err := parseConfig(args)
		return cfg, err
	})
	return daemon.Run(srv, log, prof)
}

// parseConfig reads the -config file, then the flags over it (flags win).
func parseConfig(args []string) (edge.Config, daemon.Profiles, error) {
	cfg := edge.DefaultConfig()
	if path := config.FindFlag(args, "config"); path != "" {
		if err := config.Load(path, &cfg); err != nil {
			return cfg, daemon.Profiles{}, err
		}
	}
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.String("config", "", "TOML config file (keys: the flag names in snake_case); flags win over it")
	fs.String("check-config", "", "check this config file (with the other flags over it) as a start would, print a summary and exit: 0 if it is good")
	fs.StringVar(&cfg.RTMP, "rtmp", cfg.RTMP, "RTMP listen address for clients")
	origins := fs.String("origins", strings.Join(cfg.Origins, ","), "origin trunk addresses, host:port,...")
	fs.StringVar(&cfg.ID, "id", cfg.ID, "edge id shown to the origins' apps (default: host name + RTMP port)")
	fs.StringVar(&cfg.TrunkSecret, "trunk-secret", cfg.TrunkSecret, "secret the origins require, at least 16 bytes (empty: none; visible in ps: prefer -trunk-secret-file or $"+trunk.SecretEnv+")")
	fs.StringVar(&cfg.TrunkSecretFile, "trunk-secret-file", cfg.TrunkSecretFile, "file holding the trunk secret (instead of -trunk-secret)")
	fs.BoolVar(&cfg.TrunkTLS, "trunk-tls", cfg.TrunkTLS, "TLS on the trunks (the origins need -trunk-cert/-trunk-key); the certificate must name the -origins host")
	fs.StringVar(&cfg.TrunkCA, "trunk-ca", cfg.TrunkCA, "PEM bundle of the CAs that sign the origins' trunk certificates (needs -trunk-tls; empty: the system roots)")
	fs.StringVar(&cfg.TrunkCert, "trunk-cert", cfg.TrunkCert, "the edge's TLS client certificate, for origins that require one (needs -trunk-tls)")
	fs.StringVar(&cfg.TrunkKey, "trunk-key", cfg.TrunkKey, "the key of -trunk-cert")
	fs.BoolVar(&cfg.Failover, "failover", cfg.Failover, "route new connections of an instance whose origin is down to the next origin in hash order (default: reject them)")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "admin/metrics HTTP address (empty: off)")
	fs.StringVar(&cfg.Web, "web", cfg.Web, "public web listener address for browsers: WebSocket app clients at /fms/APP[/INSTANCE], carried to the origins (empty: off)")
	fs.StringVar(&cfg.HTTPToken, "http-token", cfg.HTTPToken, "bearer token the admin HTTP listener requires, /healthz excepted (empty: none; or $"+admin.TokenEnv+")")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "trace|debug|info|warn|error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "json|console")
	fs.IntVar(&cfg.Limits.MaxConnections, "max-connections", cfg.Limits.MaxConnections, "RTMP clients served at once (0: 10000, negative: no limit)")
	fs.IntVar(&cfg.Limits.MaxConnectionsPerAddress, "max-connections-per-address", cfg.Limits.MaxConnectionsPerAddress, "RTMP clients served at once from one address (0: 100, negative: no limit)")
	fs.Float64Var(&cfg.Limits.AcceptRate, "accept-rate", cfg.Limits.AcceptRate, "new RTMP connections a second from one address, after a burst of accept_burst (0: 20, negative: no limit)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (diagnostics)")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file when shutdown begins (diagnostics)")
	if err := fs.Parse(args); err != nil {
		return cfg, daemon.Profiles{}, err
	}
	cfg.Origins = splitList(*origins)
	cfg.TrunkSecret = trunk.SecretFromEnv(cfg.TrunkSecret, cfg.TrunkSecretFile, os.Getenv)
	cfg.HTTPToken = admin.TokenFromEnv(cfg.HTTPToken, os.Getenv)
	return cfg, daemon.Profiles{CPU: *cpuProfile, Heap: *memProfile}, nil
}

// hasFlag reports whether args name the flag (-name, --name), with or without a value.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"); a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// splitList splits "a,b, c" into its non-empty trimmed items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
