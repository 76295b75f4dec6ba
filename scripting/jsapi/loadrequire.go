package jsapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dop251/goja"
)

// jsLoad implements FMS's load(file): the file runs in the global scope, every time it is
// loaded. It is looked up in the app folder (subfolders included, any extension), then in the
// server script library; paths leaving those folders are refused.
func (a *App) jsLoad(call goja.FunctionCall) goja.Value {
	name := call.Argument(0).String()
	path, err := a.findLoad(name)
	if err != nil {
		panic(a.RT.NewGoError(err))
	}
	src, err := a.readTracked(path)
	if err != nil {
		panic(a.RT.NewGoError(err))
	}
	prg, err := a.compileLoaded(a.display4(path), src)
	if err != nil {
		panic(a.RT.NewGoError(fmt.Errorf("load(%q): %w", name, err)))
	}
	v, err := a.RT.RunProgram(prg)
	if err != nil {
		panic(err)
	}
	return v
}

// compileLoaded compiles a load()ed file, noting its top-level lexical declarations: they live
// in the global scope, and a hot reload carries its let bindings.
func (a *App) compileLoaded(name, src string) (*goja.Program, error) {
	tree, err := goja.Parse(name, src)
	if err != nil {
		return nil, err
	}
	a.loaded.Add(TopLevelNames(tree))
	return goja.CompileAST(tree, false)
}

// LoadedTopLevel are the top-level let, const and class names of every file load() ran so far.
func (a *App) LoadedTopLevel() TopLevel { return a.loaded }

// findLoad resolves a load() argument.
func (a *App) findLoad(name string) (string, error) {
	for _, dir := range []string{a.opts.Dir, a.opts.LibDir} {
		if dir == "" {
			continue
		}
		p, ok := inside(dir, name)
		if !ok {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("load(%q): file not found in the app folder or the script library", name)
}

// inside joins name to dir and reports whether the result stays within dir.
func inside(dir, name string) (string, bool) {
	p := filepath.Join(dir, filepath.FromSlash(name))
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return p, true
}

// readTracked reports a script file to the host's watcher, then reads it: the watcher takes
// the file's content sum when told, so an edit made after the read always differs from it (told
// after the read, an edit in between was taken for what the app runs, and never reloaded).
func (a *App) readTracked(path string) (string, error) {
	a.opts.Host.Track(path)
	src, err := a.opts.ReadSource(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", a.display4(path), err)
	}
	return src, nil
}

// display4 names a file in stack traces: relative to the app folder when inside it.
func (a *App) display4(path string) string {
	if rel, err := filepath.Rel(a.opts.Dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(filepath.Join(filepath.Base(a.opts.Dir), rel))
	}
	return path
}

// requireFrom makes the require function of a module living in dir: "./x" and "../x" resolve
// against dir (x, x.js, x/index.js), within the app folder; each module runs once per
// generation and its module.exports is cached.
func (a *App) requireFrom(dir string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		spec := call.Argument(0).String()
		path, err := a.findModule(dir, spec)
		if err != nil {
			panic(a.RT.NewGoError(err))
		}
		if m, ok := a.modules[path]; ok {
			return m.Get("exports")
		}
		return a.runModule(path)
	}
}

func (a *App) findModule(dir, spec string) (string, error) {
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
		return "", fmt.Errorf("require(%q): only relative paths (./x) inside the app folder are supported", spec)
	}
	base := filepath.Join(dir, filepath.FromSlash(spec))
	if _, ok := inside(a.opts.Dir, mustRel(a.opts.Dir, base)); !ok {
		return "", fmt.Errorf("require(%q): outside the app folder", spec)
	}
	for _, p := range []string{base, base + ".js", filepath.Join(base, "index.js")} {
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("require(%q): %w", spec, err)
		}
	}
	return "", fmt.Errorf("require(%q): module not found", spec)
}

func mustRel(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return ".."
	}
	return rel
}

// runModule runs a CommonJS module in a function wrapper and caches it before it runs, so that
// cycles see the partial exports as in Node.
func (a *App) runModule(path string) goja.Value {
	rt := a.RT
	src, err := a.readTracked(path)
	if err != nil {
		panic(rt.NewGoError(err))
	}
	wrapped := "(function (exports, require, module, __filename, __dirname) {" + src + "\n})"
	prg, err := goja.Compile(a.display4(path), wrapped, false)
	if err != nil {
		panic(rt.NewGoError(fmt.Errorf("require: %w", err)))
	}
	fnv, err := rt.RunProgram(prg)
	if err != nil {
		panic(err)
	}
	fn, _ := goja.AssertFunction(fnv)
	module := rt.NewObject()
	exports := rt.NewObject()
	_ = module.Set("exports", exports)
	a.modules[path] = module
	dir := filepath.Dir(path)
	if _, err := fn(goja.Undefined(), exports, rt.ToValue(a.requireFrom(dir)), module,
		rt.ToValue(path), rt.ToValue(dir)); err != nil {
		delete(a.modules, path)
		panic(err)
	}
	return module.Get("exports")
}
