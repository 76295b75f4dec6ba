package jsapi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/appfs"
)

// fileDirMethods defines list, mkdir, remove, renameTo and copyTo.
func (a *App) fileDirMethods(hc *hostClass) {
	hc.method("list", a.jsList)
	hc.method("mkdir", a.jsMkdir)
	hc.method("remove", a.jsRemove)
	hc.method("renameTo", a.jsRenameTo)
	hc.method("copyTo", a.jsCopyTo)
}

// readDir lists a folder of the sandbox (at most maxListEntries entries).
func (a *App) readDir(p string) ([]os.DirEntry, error) {
	if p == "" || a.opts.Files == nil {
		return nil, os.ErrInvalid
	}
	return a.opts.Files.ReadDir(p, maxListEntries)
}

// jsList is list(filter): a File object per entry of the folder, sorted by name, those whose
// name filter(name) accepts when a filter function is given; an empty Array for a file or a
// missing folder.
func (a *App) jsList(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "list")
	var filter goja.Callable
	if v := call.Argument(0); !goja.IsUndefined(v) && !goja.IsNull(v) {
		f, ok := goja.AssertFunction(v)
		if !ok {
			a.throwType("File.list: the filter must be a function")
		}
		filter = f
	}
	ents, err := a.readDir(st.path)
	if errors.Is(err, appfs.ErrTooMany) {
		a.throwRange(fmt.Sprintf("File.list: more than %d entries in %s", maxListEntries, st.path))
	}
	out := make([]any, 0, len(ents))
	for _, e := range ents {
		if filter != nil {
			ok, err := filter(goja.Undefined(), a.RT.ToValue(e.Name()))
			if err != nil {
				panic(err)
			}
			if !ok.ToBoolean() {
				continue
			}
		}
		out = append(out, a.newFile(path.Join(st.path, e.Name())))
	}
	return a.RT.NewArray(out...)
}

// childPath resolves a name given to a method against a base folder (mkdir) or the app folder
// (renameTo, copyTo: a path like the constructor's); "" if FMS refuses it.
func childPath(base, name string) string {
	p, ok := appfs.Clean(path.Join(base, name))
	if !ok || !validJoin(name) {
		return ""
	}
	return p
}

// validJoin checks name itself (path.Join would have resolved its ".." segments).
func validJoin(name string) bool {
	_, ok := appfs.Clean(name)
	return ok && name != ""
}

// jsMkdir is mkdir(name): makes the folder name inside this File's folder.
func (a *App) jsMkdir(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "mkdir")
	p := childPath(st.path, call.Argument(0).String())
	if st.path == "" || p == "" || a.opts.Files == nil {
		return a.RT.ToValue(false)
	}
	if err := a.opts.Files.Mkdir(p); err != nil {
		return a.fsFailed("mkdir", p, err)
	}
	return a.RT.ToValue(true)
}

// jsRemove is remove(recursive): deletes the file, or the folder (with its content only when
// recursive is true). An open file, or a root folder, is not removed.
func (a *App) jsRemove(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "remove")
	if st.path == "" || st.h != nil || a.opts.Files == nil {
		return a.RT.ToValue(false)
	}
	if err := a.opts.Files.Remove(st.path, call.Argument(0).ToBoolean()); err != nil {
		return a.fsFailed("remove", st.path, err)
	}
	return a.RT.ToValue(true)
}

// jsRenameTo is renameTo(path): moves the closed file or folder; this File then names the new
// path.
func (a *App) jsRenameTo(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "renameTo")
	to := childPath("/", call.Argument(0).String())
	if st.path == "" || to == "" || st.h != nil || a.opts.Files == nil {
		return a.RT.ToValue(false)
	}
	if err := a.opts.Files.Rename(st.path, to); err != nil {
		return a.fsFailed("renameTo", st.path, err)
	}
	st.path = to
	return a.RT.ToValue(true)
}

// jsCopyTo is copyTo(path): copies the file (at most maxCopyBytes) to path, replacing it.
func (a *App) jsCopyTo(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "copyTo")
	to := childPath("/", call.Argument(0).String())
	if st.path == "" || to == "" || to == st.path || a.opts.Files == nil {
		return a.RT.ToValue(false)
	}
	if err := a.copyFile(st.path, to); err != nil {
		return a.fsFailed("copyTo", st.path, err)
	}
	return a.RT.ToValue(true)
}

// copyFile copies a regular file through two handles (the quota sees the new bytes).
func (a *App) copyFile(from, to string) error {
	src, err := a.opts.Files.OpenFile(from, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer src.Close()
	if src.Size() > maxCopyBytes {
		return fmt.Errorf("%s is larger than %d bytes, the most one call copies", from, maxCopyBytes)
	}
	dst, err := a.opts.Files.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.NewOffsetWriter(dst, 0), io.NewSectionReader(src, 0, src.Size()))
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}
