// Command fmsgo-build builds an origin binary with plug-in modules compiled in (docs/plugins.md):
//
//	go run ./origin/cmd/fmsgo-build --with example.com/myplugin@v1.2.0 --with example.com/other=../other -o bin/origin
//
// It writes a temporary main module that requires fmsgo (the checkout it runs in, --fmsgo PATH
// or --fmsgo VERSION) and each --with module (a version fetched by go get, or a local folder
// replaced in go.mod), whose main imports origin/originmain, origin/modules/standard and the
// modules, then runs go mod tidy and go build. Modules register themselves in init(), so the
// binary has them all; its -config selects which run. A Go-plugin (.so) loader would need cgo,
// could never unload and would tie every plug-in to the exact toolchain: a build is simpler.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fmsgo-build:", err)
		os.Exit(1)
	}
}

// withFlags collects the repeated --with.
type withFlags []plugin

func (w *withFlags) String() string { return fmt.Sprint(len(*w), " modules") }

func (w *withFlags) Set(s string) error {
	p, err := parseWith(s)
	if err != nil {
		return err
	}
	*w = append(*w, p)
	return nil
}

// options is the command line.
type options struct {
	with  withFlags
	out   string
	fmsgo source
	work  bool
	gobin string
	log   io.Writer
}

func parseArgs(args []string, log io.Writer) (options, error) {
	o := options{log: log}
	fs := flag.NewFlagSet("fmsgo-build", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.Var(&o.with, "with", "MODULE[@VERSION][=LOCALPATH]: a plug-in module to compile in (repeatable); a package path inside a module works too")
	fs.StringVar(&o.out, "o", "origin", "the binary to write")
	fm := fs.String("fmsgo", "", "fmsgo to build against: a checkout's folder or a version (default: the checkout the working directory is in)")
	fs.BoolVar(&o.work, "work", false, "keep the generated module's folder and print its path")
	fs.StringVar(&o.gobin, "go", "go", "the go command")
	fs.Usage = func() {
		fmt.Fprintln(log, "usage: fmsgo-build --with MODULE[@VERSION][=LOCALPATH] ... [-o FILE] [--fmsgo PATH|VERSION] [--work]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (each module needs --with)", fs.Arg(0))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return o, err
	}
	if o.fmsgo, err = fmsgoSource(*fm, cwd, builtVersion()); err != nil {
		return o, err
	}
	if o.out, err = filepath.Abs(o.out); err != nil {
		return o, err
	}
	return o, nil
}

// builtVersion is the version of fmsgo this tool was built from (go run ...@vX.Y.Z), or "".
func builtVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == fmsgoModule {
		return bi.Main.Version
	}
	return ""
}

func run(args []string, log io.Writer) error {
	o, err := parseArgs(args, log)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fmsgo-build-")
	if err != nil {
		return err
	}
	keep := o.work
	defer func() {
		if keep {
			fmt.Fprintln(log, "fmsgo-build: generated module kept in", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if err := build(o, dir); err != nil {
		keep = true // what go saw, for the operator to look at
		return err
	}
	fmt.Fprintf(log, "fmsgo-build: wrote %s (%s)\n", o.out, describe(o))
	return nil
}

// describe says what the binary was built from.
func describe(o options) string {
	var mods []string
	for _, p := range o.with {
		mods = append(mods, p.Import)
	}
	from := "fmsgo " + o.fmsgo.Version
	if o.fmsgo.Dir != "" {
		from = "fmsgo at " + o.fmsgo.Dir
	}
	if len(mods) == 0 {
		return from + ", standard modules only"
	}
	return from + ", with " + strings.Join(mods, ", ")
}
