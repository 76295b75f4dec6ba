package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/edge"
	"github.com/rs/zerolog"
)

// checkConfig is -check-config FILE: it reads FILE as -config would, with the other flags over
// it, and prepares the edge as a start would (keys and types, the origins and routes, secrets,
// TLS files) without listening or dialling, then prints a summary. An error names the file and
// line where the file has one.
func checkConfig(args []string, stdout io.Writer) error {
	path := config.FindFlag(args, "check-config")
	if path == "" {
		return fmt.Errorf("-check-config needs a file: -check-config edge.toml")
	}
	cfg, _, err := parseConfig(append(config.WithoutFlag(args, "check-config"), "-config", path))
	if err != nil {
		return err
	}
	if _, err := edge.New(cfg, zerolog.Nop()); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	_, err = fmt.Fprintf(stdout, "config %s: ok\n  listeners: rtmp %s, http %s, web %s\n  origins: %s\n", path,
		orOff(cfg.RTMP), orOff(cfg.HTTP), orOff(cfg.Web), strings.Join(cfg.Origins, ", "))
	return err
}

// orOff names an empty listen address as the flags mean it.
func orOff(addr string) string {
	if addr == "" {
		return "off"
	}
	return addr
}
