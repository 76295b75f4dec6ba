// Command edge runs the fmsgo edge: clients connect here, and each is carried to the origin that
// owns its application instance over one trunk connection per origin. It drains and exits on
// SIGINT/SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/daemon"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/edge"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg := edge.DefaultConfig()
	if path := config.FindFlag(args, "config"); path != "" {
		if err := config.Load(path, &cfg); err != nil {
			return err
		}
	}
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.String("config", "", "TOML config file (keys: the flag names in snake_case); flags win over it")
	fs.StringVar(&cfg.RTMP, "rtmp", cfg.RTMP, "RTMP listen address for clients")
	origins := fs.String("origins", strings.Join(cfg.Origins, ","), "origin trunk addresses, host:port,...")
	fs.StringVar(&cfg.ID, "id", cfg.ID, "edge id shown to the origins' apps (default: host name + RTMP port)")
	fs.StringVar(&cfg.TrunkSecret, "trunk-secret", cfg.TrunkSecret, "secret the origins require (empty: none)")
	fs.BoolVar(&cfg.TrunkTLS, "trunk-tls", cfg.TrunkTLS, "TLS on the trunks (the origins need -trunk-cert/-trunk-key); the certificate must name the -origins host")
	fs.StringVar(&cfg.TrunkCA, "trunk-ca", cfg.TrunkCA, "PEM bundle of the CAs that sign the origins' trunk certificates (needs -trunk-tls; empty: the system roots)")
	fs.BoolVar(&cfg.Failover, "failover", cfg.Failover, "route new connections of an instance whose origin is down to the next origin in hash order (default: reject them)")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "admin/metrics HTTP address (empty: off)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "trace|debug|info|warn|error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "json|console")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (diagnostics)")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file when shutdown begins (diagnostics)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Origins = splitList(*origins)
	log, err := logging.New(logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		return err
	}
	srv, err := edge.New(cfg, log)
	if err != nil {
		return err
	}
	return daemon.Run(srv, log, daemon.Profiles{CPU: *cpuProfile, Heap: *memProfile})
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
