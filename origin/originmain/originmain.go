// Package originmain is the origin command's whole main, as a library: origin/cmd/origin is
// Main plus the blank imports of the modules shipped with fmsgo, and a custom origin built with
// other plug-in modules (origin/cmd/fmsgo-build, docs/plugins.md) is Main plus its own imports,
// with the same flags, config file and signals. The command drains and exits on SIGINT/SIGTERM;
// SIGHUP rescans the apps folder and re-reads -config.
package originmain

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/daemon"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/trunk"
	"github.com/fmsgo/fmsgo/origin"
)

// Main runs the origin with the process's arguments and exits with status 1 on an error.
func Main() {
	if err := Run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
}

// Run runs the origin with args (the command line without the program name) until a signal
// ends it. With -modules it prints the plug-in modules the binary was built with and returns.
func Run(args []string) error { return run(args, os.Stdout) }

func run(args []string, stdout io.Writer) error {
	if boolFlag(args, "modules") {
		// before the config is read: a binary's modules are what an operator checks when the
		// config names one it does not have
		if _, _, err := parseFlags(args, origin.DefaultConfig()); err != nil {
			return err
		}
		return listModules(stdout)
	}
	if config.FindFlag(args, "check-config") != "" || boolFlag(args, "check-config") {
		return checkConfig(args, stdout)
	}
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
	return parseFlags(args, cfg)
}

// parseFlags applies the command-line flags over cfg.
func parseFlags(args []string, cfg origin.Config) (origin.Config, daemon.Profiles, error) {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	fs.Bool("modules", false, "print the plug-in modules this binary was built with, and the extension points of each, then exit")
	fs.String("config", "", "TOML config file (keys: the flag names in snake_case); flags win over it")
	fs.String("check-config", "", "check this config file (with the other flags over it) as a start would, print a summary and exit: 0 if it is good")
	fs.StringVar(&cfg.RTMP, "rtmp", cfg.RTMP, "RTMP listen address for direct clients (empty: off)")
	fs.StringVar(&cfg.Trunk, "trunk", cfg.Trunk, "trunk listen address for edges (empty: off)")
	fs.StringVar(&cfg.TrunkSecret, "trunk-secret", cfg.TrunkSecret, "secret edges must present, at least 16 bytes (empty: none; visible in ps: prefer -trunk-secret-file or $"+trunk.SecretEnv+")")
	fs.StringVar(&cfg.TrunkSecretFile, "trunk-secret-file", cfg.TrunkSecretFile, "file holding the trunk secret (instead of -trunk-secret)")
	fs.BoolVar(&cfg.TrunkInsecure, "trunk-insecure", cfg.TrunkInsecure, "let a trunk beyond loopback run without a secret: any edge may connect")
	fs.StringVar(&cfg.TrunkCert, "trunk-cert", cfg.TrunkCert, "TLS certificate for the trunk")
	fs.StringVar(&cfg.TrunkKey, "trunk-key", cfg.TrunkKey, "TLS key for the trunk")
	fs.StringVar(&cfg.TrunkClientCA, "trunk-client-ca", cfg.TrunkClientCA, "with TLS: require a client certificate from every edge, signed by a CA of this PEM bundle")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "admin/metrics HTTP address (empty: off)")
	fs.StringVar(&cfg.Web, "web", cfg.Web, "public web listener address for browsers: WebSocket app clients at /fms/APP[/INSTANCE] (empty: off)")
	fs.StringVar(&cfg.HTTPToken, "http-token", cfg.HTTPToken, "bearer token the admin HTTP listener requires, /healthz excepted (empty: none; or $"+admin.TokenEnv+")")
	fs.StringVar(&cfg.Apps, "apps", cfg.Apps, "applications folder: one subfolder per app")
	fs.StringVar(&cfg.Hooks, "hooks", cfg.Hooks, "server-wide JavaScript hooks folder: one subfolder per hook with a main.js (missing: no hooks)")
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

// boolFlag reports whether args set the boolean flag name (-name, --name, -name=true).
func boolFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || a == name+"=true" || a == name+"=1" {
			return true
		}
	}
	return false
}

// listModules prints one line per registered module: its ID and the extension points it
// implements.
func listModules(w io.Writer) error {
	ids := plugin.IDs()
	if len(ids) == 0 {
		_, err := fmt.Fprintln(w, "(no plug-in modules)")
		return err
	}
	for _, id := range ids {
		info, _ := plugin.Lookup(id)
		if _, err := fmt.Fprintf(w, "%s\t%s\n", id, strings.Join(points(info.New()), ",")); err != nil {
			return err
		}
	}
	return nil
}

// points names the extension points m implements.
func points(m plugin.Module) []string {
	var p []string
	add := func(ok bool, name string) {
		if ok {
			p = append(p, name)
		}
	}
	_, auth := m.(plugin.Authorizer)
	_, naming := m.(plugin.Namer)
	_, storage := m.(plugin.Storage)
	_, sostore := m.(plugin.SOStore)
	_, events := m.(plugin.EventSink)
	_, rpc := m.(plugin.RPCService)
	add(auth, "auth")
	add(naming, "naming")
	add(storage, "storage")
	add(sostore, "sostore")
	add(events, "events")
	add(rpc, "rpc")
	return p
}
