package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// build writes the generated module into dir and builds it into o.out.
func build(o options, dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod(o.fmsgo, o.with)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo(o.with)), 0o644); err != nil {
		return err
	}
	for _, g := range gets(o) {
		if err := goCmd(o, dir, "get", g); err != nil {
			return err
		}
	}
	if err := goCmd(o, dir, "mod", "tidy"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return goCmd(o, dir, "build", "-o", o.out, ".")
}

// gets lists the go get arguments: fmsgo's version and each module that is not a local folder.
func gets(o options) []string {
	var g []string
	if o.fmsgo.Dir == "" {
		g = append(g, fmsgoModule+"@"+o.fmsgo.Version)
	}
	for _, p := range o.with {
		if p.Dir == "" {
			v := p.Version
			if v == "" {
				v = "latest"
			}
			g = append(g, p.Import+"@"+v)
		}
	}
	return g
}

// goCmd runs the go command in dir; its output is the error's text when it fails.
func goCmd(o options, dir string, args ...string) error {
	cmd := exec.Command(o.gobin, args...)
	cmd.Dir = dir
	cmd.Env = goEnv(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// goEnv is the environment of the go commands: the caller's, without a workspace (a go.work
// around the caller must not change the generated module) and with go.mod writable
// (GOFLAGS=-mod=vendor or readonly would refuse the go get and tidy that write it).
func goEnv(env []string) []string {
	out := make([]string, 0, len(env)+2)
	flags := ""
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "GOWORK="):
		case strings.HasPrefix(kv, "GOFLAGS="):
			for _, f := range strings.Fields(strings.TrimPrefix(kv, "GOFLAGS=")) {
				if !strings.HasPrefix(f, "-mod=") {
					flags += f + " "
				}
			}
		default:
			out = append(out, kv)
		}
	}
	return append(out, "GOWORK=off", "GOFLAGS="+flags+"-mod=mod")
}
