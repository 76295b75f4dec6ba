package originmain

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/logging"
	"github.com/fmsgo/fmsgo/origin"
)

// checkConfig is -check-config FILE: it reads FILE as -config would, with the other flags over
// it, and prepares the server as a start would (every key and type, the secrets and certificate
// files, the selected modules provisioned and validated, the apps folder) without listening or
// starting anything, then prints a summary. An error names the file and line where the file
// has one. An operator runs it before a restart or a SIGHUP.
func checkConfig(args []string, stdout io.Writer) error {
	path := config.FindFlag(args, "check-config")
	if path == "" {
		return fmt.Errorf("-check-config needs a file: -check-config origin.toml")
	}
	args = append(config.WithoutFlag(args, "check-config"), "-config", path)
	cfg, _, err := parseConfig(args)
	if err != nil {
		return err
	}
	log, err := logging.New(logging.Options{Level: "warn", Format: "console", Out: os.Stderr})
	if err != nil {
		return err
	}
	srv, err := origin.New(cfg, log)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	defer srv.Discard()
	_, err = fmt.Fprintf(stdout, "config %s: ok\n%s", path, summary(cfg, srv))
	return err
}

// summary is what the checked config makes the origin do, one line per part.
func summary(cfg origin.Config, srv *origin.Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  listeners: rtmp %s, trunk %s, http %s, web %s\n", orOff(cfg.RTMP), orOff(cfg.Trunk), orOff(cfg.HTTP), orOff(cfg.Web))
	apps, _ := os.ReadDir(cfg.Apps)
	var names []string
	for _, a := range apps {
		if a.IsDir() {
			names = append(names, a.Name())
		}
	}
	abs, _ := filepath.Abs(cfg.Apps)
	fmt.Fprintf(&b, "  apps: %s (%d: %s)\n", abs, len(names), strings.Join(names, ", "))
	mods := srv.ModuleIDs()
	if len(mods) == 0 {
		mods = []string{"none"}
	}
	fmt.Fprintf(&b, "  modules: %s\n", strings.Join(mods, ", "))
	return b.String()
}

// orOff names an empty listen address as the flags mean it.
func orOff(addr string) string {
	if addr == "" {
		return "off"
	}
	return addr
}
