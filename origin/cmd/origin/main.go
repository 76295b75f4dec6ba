// Command origin runs the fmsgo origin: RTMP clients (and, later, edges) connect to the
// applications found under -apps. It drains and exits on SIGINT/SIGTERM; SIGHUP rescans the apps
// folder and re-reads -config.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/daemon"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/origin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, prof, err := parseConfig(args)
	if err != nil {
		return err
	}
	log, err := logging.New(logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		return err
	}
	srv, err := origin.New(cfg, log)
	if err != nil {
		return err
	}
	// SIGHUP reads the same file again, with the same command-line flags on top.
	srv.SetConfigSource(func() (origin.Config, error) {
		cfg, _, err := parseConfig(args)
		return cfg, err
	})
	return daemon.Run(srv, log, prof)
}

// parseConfig reads the -config file, then the flags over it (flags win).
func parseConfig(args []string) (origin.Config, daemon.Profiles, error) {
	cfg := origin.DefaultConfig()
	if path := config.FindFlag(args, "config"); path != "" {
		if err := config.Load(path, &cfg); err != nil {
			return cfg, daemon.Profiles{}, err
		}
		cfg.ConfigDir = filepath.Dir(path)
	}
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	fs.String("config", "", "TOML config file (keys: the flag names in snake_case); flags win over it")
	fs.StringVar(&cfg.RTMP, "rtmp", cfg.RTMP, "RTMP listen address for direct clients (empty: off)")
	fs.StringVar(&cfg.Trunk, "trunk", cfg.Trunk, "trunk listen address for edges (empty: off)")
	fs.StringVar(&cfg.TrunkSecret, "trunk-secret", cfg.TrunkSecret, "secret edges must present, at least 16 bytes (empty: none; visible in ps: prefer -trunk-secret-file or $"+trunk.SecretEnv+")")
	fs.StringVar(&cfg.TrunkSecretFile, "trunk-secret-file", cfg.TrunkSecretFile, "file holding the trunk secret (instead of -trunk-secret)")
	fs.BoolVar(&cfg.TrunkInsecure, "trunk-insecure", cfg.TrunkInsecure, "let a trunk beyond loopback run without a secret: any edge may connect")
	fs.StringVar(&cfg.TrunkCert, "trunk-cert", cfg.TrunkCert, "TLS certificate for the trunk")
	fs.StringVar(&cfg.TrunkKey, "trunk-key", cfg.TrunkKey, "TLS key for the trunk")
	fs.StringVar(&cfg.TrunkClientCA, "trunk-client-ca", cfg.TrunkClientCA, "with TLS: require a client certificate from every edge, signed by a CA of this PEM bundle")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "admin/metrics HTTP address (empty: off)")
	fs.StringVar(&cfg.HTTPToken, "http-token", cfg.HTTPToken, "bearer token the admin HTTP listener requires, /healthz excepted (empty: none; or $"+admin.TokenEnv+")")
	fs.StringVar(&cfg.Apps, "apps", cfg.Apps, "applications folder: one subfolder per app")
	fs.BoolVar(&cfg.AppsEvents, "apps-events", cfg.AppsEvents, "watch the apps folder with file events (inotify); off, changes are seen on SIGHUP and -apps-poll only")
	fs.DurationVar(&cfg.AppsPoll, "apps-poll", cfg.AppsPoll, "rescan the apps folder this often, as SIGHUP does (file systems without inotify: NFS, SMB, FUSE; 0: never)")
	fs.StringVar(&cfg.ScriptLib, "scriptlib", cfg.ScriptLib, "FMS script library folder for load()")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "persistent state folder")
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
	cfg.TrunkSecret = trunk.SecretFromEnv(cfg.TrunkSecret, cfg.TrunkSecretFile, os.Getenv)
	cfg.HTTPToken = admin.TokenFromEnv(cfg.HTTPToken, os.Getenv)
	return cfg, daemon.Profiles{CPU: *cpuProfile, Heap: *memProfile}, nil
}
