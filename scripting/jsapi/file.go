package jsapi

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/appfs"
	"github.com/fmsgo/fmsgo/scripting/flashxml"
)

// FMS's File object (Server-Side ActionScript): a path in the app's sandbox (appfs: "/" is the
// app folder, plus the operator's virtual directories), opened with open(type, mode), read and
// written synchronously, as FMS does. Its I/O runs on the instance loop because the API is
// synchronous (read returns the data); each call is bounded so that it cannot hold the loop or
// the heap: a read, readln or readAll builds at most DefaultResultCap bytes (RangeError past
// it), a list at most maxListEntries File objects, a copyTo at most maxCopyBytes, writes stop at
// the app's quota, and an instance holds at most MaxOpenFiles files open. Failures FMS reports
// as a false result (open, write, remove, ...) are false here too, with a debug log line; a
// wrong argument type throws TypeError.
const (
	// MaxOpenFiles is how many File objects one instance may hold open at once.
	MaxOpenFiles = 128
	// maxListEntries bounds a folder's listing (File.list, a folder's length).
	maxListEntries = 100_000
	// maxCopyBytes bounds a copyTo, which runs on the loop.
	maxCopyBytes = 64 << 20
)

// fileClass is the File constructor of one runtime and the files its objects hold open.
type fileClass struct {
	*hostClass
	slot *goja.Symbol
	open map[*fileState]struct{}
}

// fileState is one File object's Go side.
type fileState struct {
	path string // canonical virtual path; "" for a path FMS refuses (no operation works)
	h    appfs.Handle
	typ  string // "text", "binary" or "utf8" (the last open's)
	mode string // the last open's mode argument
	pos  int64
	// what the open mode allows
	canRead, canWrite, canAppend, canReplace bool
}

// installFile defines the File class.
func (a *App) installFile() error {
	hc, err := a.newHostClass("File", a.constructFile)
	if err != nil {
		return err
	}
	a.files = fileClass{hostClass: hc, slot: goja.NewSymbol("fmsgo.File"), open: map[*fileState]struct{}{}}
	a.fileProperties(hc)
	a.fileIOMethods(hc)
	a.fileDirMethods(hc)
	return nil
}

// constructFile is new File(path): the path is kept in its canonical form; a path FMS refuses
// makes a File whose name is "" and whose operations all fail.
func (a *App) constructFile(call goja.ConstructorCall) *goja.Object {
	st := &fileState{}
	if arg := call.Argument(0); !goja.IsUndefined(arg) && !goja.IsNull(arg) {
		st.path, _ = appfs.Clean(arg.String())
	}
	a.bindFile(call.This, st)
	return nil
}

// bindFile attaches st to obj (a symbol-keyed slot that a script can neither change nor delete).
func (a *App) bindFile(obj *goja.Object, st *fileState) {
	_ = obj.DefineDataPropertySymbol(a.files.slot, a.RT.ToValue(st), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// newFile makes a File object of path (File.list's entries).
func (a *App) newFile(path string) *goja.Object {
	obj := a.RT.NewObject()
	_ = obj.SetPrototype(a.files.proto)
	a.bindFile(obj, &fileState{path: path})
	return obj
}

// fileOf returns the state of a File object; anything else is a TypeError.
func (a *App) fileOf(v goja.Value, what string) *fileState {
	if obj, ok := v.(*goja.Object); ok {
		if st := fileSlot(obj, a.files.slot); st != nil {
			return st
		}
	}
	a.throwType("File." + what + ": not a File object")
	return nil
}

// fileProperties defines the read-only properties (position may be set: a seek).
func (a *App) fileProperties(hc *hostClass) {
	rt := a.RT
	flag := func(name string, f func(st *fileState) bool) {
		hc.accessor(name, func(this goja.Value) goja.Value { return rt.ToValue(f(a.fileOf(this, name))) }, nil)
	}
	flag("isOpen", func(st *fileState) bool { return st.h != nil })
	flag("canRead", func(st *fileState) bool { return st.h != nil && st.canRead })
	flag("canWrite", func(st *fileState) bool { return st.h != nil && st.canWrite })
	flag("canAppend", func(st *fileState) bool { return st.h != nil && st.canAppend })
	flag("canReplace", func(st *fileState) bool { return st.h != nil && st.canReplace })
	flag("exists", func(st *fileState) bool { _, err := a.fileStat(st); return err == nil })
	flag("isFile", func(st *fileState) bool { i, err := a.fileStat(st); return err == nil && i.Mode().IsRegular() })
	flag("isDirectory", func(st *fileState) bool { i, err := a.fileStat(st); return err == nil && i.IsDir() })
	str := func(name string, f func(st *fileState) string) {
		hc.accessor(name, func(this goja.Value) goja.Value {
			if s := f(a.fileOf(this, name)); s != "" || name == "name" {
				return rt.ToValue(s)
			}
			return goja.Undefined()
		}, nil)
	}
	str("name", func(st *fileState) string { return st.path })
	str("type", func(st *fileState) string { return st.typ })
	str("mode", func(st *fileState) string { return st.mode })
	hc.accessor("length", func(this goja.Value) goja.Value { return rt.ToValue(a.fileLength(a.fileOf(this, "length"))) }, nil)
	hc.accessor("position", func(this goja.Value) goja.Value { return rt.ToValue(a.fileOf(this, "position").pos) },
		func(this, v goja.Value) { a.fileOf(this, "position").seekTo(v.ToInteger()) })
	hc.accessor("creationTime", func(this goja.Value) goja.Value { return a.fileTime(a.fileOf(this, "creationTime"), true) }, nil)
	hc.accessor("lastModified", func(this goja.Value) goja.Value { return a.fileTime(a.fileOf(this, "lastModified"), false) }, nil)
	hc.method("toString", func(call goja.FunctionCall) goja.Value { return rt.ToValue(a.fileOf(call.This, "toString").path) })
}

// fileStat describes the file (an error for a refused path or without a file system).
func (a *App) fileStat(st *fileState) (fs.FileInfo, error) {
	if st.path == "" || a.opts.Files == nil {
		return nil, fs.ErrInvalid
	}
	return a.opts.Files.Stat(st.path)
}

// fileLength is a file's size in bytes, or a folder's number of entries (FMS), 0 if absent.
func (a *App) fileLength(st *fileState) int64 {
	if st.h != nil {
		return st.h.Size()
	}
	info, err := a.fileStat(st)
	switch {
	case err != nil:
		return 0
	case info.IsDir():
		ents, _ := a.readDir(st.path)
		return int64(len(ents))
	default:
		return info.Size()
	}
}

// fileTime is a Date of the file's creation or modification; null if it does not exist.
func (a *App) fileTime(st *fileState, created bool) goja.Value {
	if st.path == "" || a.opts.Files == nil {
		return goja.Null()
	}
	c, m, err := a.opts.Files.Times(st.path)
	if err != nil {
		return goja.Null()
	}
	t := m
	if created {
		t = c
	}
	d, err := a.RT.New(a.RT.GlobalObject().Get("Date"), a.RT.ToValue(t.UnixMilli()))
	if err != nil {
		return goja.Null()
	}
	return d
}

// fileMode is what an open mode argument allows: FMS's words, comma-separated ("read,write").
type fileMode struct {
	read, write, append, create bool
}

func parseFileMode(s string) (fileMode, bool) {
	var m fileMode
	for w := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(w) {
		case "read":
			m.read = true
		case "write":
			m.write = true
		case "readWrite":
			m.read, m.write = true, true
		case "append":
			m.append = true
		case "create":
			m.create = true
		default:
			return m, false
		}
	}
	return m, true
}

// flags maps a mode onto os flags: "write", "append" and "create" make the file when absent,
// "create" also empties it (FMS: its contents are destroyed); only "read" needs it to exist.
func (m fileMode) flags() int {
	writes := m.write || m.append || m.create
	f := os.O_RDONLY
	switch {
	case writes && m.read:
		f = os.O_RDWR
	case writes:
		f = os.O_WRONLY
	}
	if writes {
		f |= os.O_CREATE
	}
	if m.create {
		f |= os.O_TRUNC
	}
	return f
}

// jsOpen is open(type, mode): true once the file is open. type is "text" (default), "utf8" or
// "binary"; mode defaults to "read".
func (a *App) jsOpen(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "open")
	typ, modeArg := "text", "read"
	if v := call.Argument(0); !goja.IsUndefined(v) {
		typ = v.String()
	}
	if v := call.Argument(1); !goja.IsUndefined(v) {
		modeArg = v.String()
	}
	m, ok := parseFileMode(modeArg)
	if st.h != nil || st.path == "" || a.opts.Files == nil || !ok || (typ != "text" && typ != "utf8" && typ != "binary") {
		return a.RT.ToValue(false)
	}
	if len(a.files.open) >= MaxOpenFiles {
		a.log.Warn().Str("file", st.path).Int("max", MaxOpenFiles).Msg("File.open: too many files open in this instance")
		return a.RT.ToValue(false)
	}
	h, err := a.opts.Files.OpenFile(st.path, m.flags())
	if err != nil {
		a.log.Debug().Err(err).Str("file", st.path).Msg("File.open failed")
		return a.RT.ToValue(false)
	}
	*st = fileState{path: st.path, h: h, typ: typ, mode: modeArg, canRead: m.read,
		canWrite: m.write || m.append || m.create, canAppend: m.append, canReplace: m.create}
	if m.append {
		st.pos = h.Size()
	}
	a.files.open[st] = struct{}{}
	return a.RT.ToValue(true)
}

// closeFile closes st's handle; false if it was not open.
func (a *App) closeFile(st *fileState) bool {
	if st.h == nil {
		return false
	}
	err := st.h.Close()
	st.h, st.pos = nil, 0
	delete(a.files.open, st)
	return err == nil
}

// CloseFiles closes every file this runtime's scripts left open (the generation is retired or
// the instance unloaded).
func (a *App) CloseFiles() {
	for st := range a.files.open {
		a.closeFile(st)
	}
}

// seekTo moves the position of an open file, within [0, length].
func (st *fileState) seekTo(p int64) {
	if st.h != nil {
		st.pos = min(max(p, 0), st.h.Size())
	}
}

// fsFailed logs a failed operation at debug level and returns false.
func (a *App) fsFailed(op, path string, err error) goja.Value {
	ev := a.log.Debug()
	if errors.Is(err, appfs.ErrQuota) {
		ev = a.log.Warn()
	}
	ev.Err(err).Str("file", path).Msg("File." + op + " failed")
	return a.RT.ToValue(false)
}

// CarryHostObject re-creates, in a's runtime, an FMS object of old's runtime that a reload
// carries: a File names the same path (closed: the old generation's files are closed at the
// commit); an XML document or node is parsed again from its text (a node comes unlinked); ok is
// false for other objects.
func (a *App) CarryHostObject(old *App, o *goja.Object) (goja.Value, bool) {
	if st := fileSlot(o, old.files.slot); st != nil {
		return a.newFile(st.path), true
	}
	if _, ok := old.isNode(o); ok {
		doc := a.RT.NewObject()
		_ = doc.SetPrototype(a.xml.doc.proto)
		a.initNode(doc, flashxml.ElementNode, goja.Null())
		a.parseInto(doc, old.serialize(o))
		if inherits(o, old.xml.doc.proto) {
			return doc, true
		}
		if first, ok := doc.Get(pFirst).(*goja.Object); ok {
			a.detach(first)
			return first, true
		}
		return goja.Null(), true
	}
	if inherits(o, old.web.proto) {
		return a.carryLoadVars(o), true
	}
	return nil, false
}

// carryLoadVars copies a LoadVars' variables (its own enumerable properties of primitive value,
// what decode and a script's assignments make) into a new LoadVars.
func (a *App) carryLoadVars(o *goja.Object) *goja.Object {
	out := a.RT.NewObject()
	_ = out.SetPrototype(a.web.proto)
	for _, k := range o.Keys() {
		v := o.Get(k)
		if _, isObj := v.(*goja.Object); !isObj && v != nil {
			_ = out.DefineDataProperty(k, a.RT.ToValue(v.Export()), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
	}
	return out
}

// inherits reports whether proto is on o's prototype chain (an XML document, a LoadVars).
func inherits(o, proto *goja.Object) bool {
	for p, i := o.Prototype(), 0; p != nil && i < 16; p, i = p.Prototype(), i+1 {
		if p == proto {
			return true
		}
	}
	return false
}

// fileSlot returns the state behind a File object (nil for any other object).
func fileSlot(o *goja.Object, slot *goja.Symbol) *fileState {
	v := o.GetSymbol(slot)
	if v == nil {
		return nil
	}
	st, _ := v.Export().(*fileState)
	return st
}
