// Package scripting is the app engine: it finds the apps under the apps folder, compiles each
// version of their code once, runs one runtime per app instance, and reloads apps when their files
// change. This part holds app discovery, source normalisation, the compile cache and the file
// watcher.
package scripting

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// EntryFile returns the path of the entry file of the app folder dir (app name name), in FMS's
// order: main.js, main.asc, NAME.js, NAME.asc. It returns "" when there is none: such an app is
// still valid and accepts everything.
func EntryFile(dir, name string) string {
	for _, f := range []string{"main.js", "main.asc", name + ".js", name + ".asc"} {
		p := filepath.Join(dir, f)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// NormalizeSource turns a script file into source text: a leading UTF-8 BOM is dropped, and CRLF
// and lone CR (old-Mac files) become LF, so that line comments end where the author saw them end
// and line numbers in stack traces match the editor's.
func NormalizeSource(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\r' {
			sb.WriteByte(b[i])
			continue
		}
		sb.WriteByte('\n')
		if i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
	}
	return sb.String()
}

// ProgramCache compiles each version of a script file once. A goja Program may run in many
// runtimes at once, so every instance of an app shares it; an edit (new size, mtime or content)
// compiles again. Safe for concurrent use.
type ProgramCache struct {
	mu      sync.Mutex
	entries map[string]cachedProgram
}

type cachedProgram struct {
	size    int64
	mtime   time.Time
	sum     [sha256.Size]byte
	name    string
	program *goja.Program
}

// NewProgramCache returns an empty cache.
func NewProgramCache() *ProgramCache {
	return &ProgramCache{entries: make(map[string]cachedProgram)}
}

// Compile returns the program for the current content of the file at path, compiled in sloppy
// mode (FMS scripts rely on it) under displayName (e.g. "apps/chat/main.js"), which stack traces
// and errors show. A syntax error reads "DISPLAYNAME:LINE:COL: message".
func (c *ProgramCache) Compile(path, displayName string) (*goja.Program, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", displayName, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", displayName, err)
	}
	sum := sha256.Sum256(b)
	c.mu.Lock()
	e, ok := c.entries[path]
	c.mu.Unlock()
	if ok && e.size == st.Size() && e.mtime.Equal(st.ModTime()) && e.sum == sum && e.name == displayName {
		return e.program, nil
	}
	prg, err := CompileSource(displayName, NormalizeSource(b))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[path] = cachedProgram{size: st.Size(), mtime: st.ModTime(), sum: sum, name: displayName, program: prg}
	c.mu.Unlock()
	return prg, nil
}

// Forget drops the cached program of path (an app folder was removed).
func (c *ProgramCache) Forget(path string) {
	c.mu.Lock()
	delete(c.entries, path)
	c.mu.Unlock()
}

// CompileSource compiles normalised source text in sloppy mode, with syntax errors formatted as
// "name:LINE:COL: message".
func CompileSource(name, src string) (*goja.Program, error) {
	prg, err := goja.Compile(name, src, false)
	if err != nil {
		return nil, syntaxError(name, src, err)
	}
	return prg, nil
}

// SyntaxError is a script that does not compile, with the place the parser stopped.
type SyntaxError struct {
	File    string
	Line    int
	Column  int
	Message string
	Err     error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// syntaxError extracts the position from goja's error types. goja reports a parse error as a
// CompilerSyntaxError without position (the parser's message flattened), so the source is
// parsed again to get the parser's own position list.
func syntaxError(name, src string, err error) error {
	var cse *goja.CompilerSyntaxError
	if errors.As(err, &cse) && cse.File != nil {
		p := cse.File.Position(cse.Offset)
		return &SyntaxError{File: name, Line: p.Line, Column: p.Column, Message: cse.Message, Err: err}
	}
	_, perr := parser.ParseFile(nil, name, src, 0)
	var list parser.ErrorList
	if errors.As(perr, &list) && len(list) > 0 {
		p := list[0].Position
		return &SyntaxError{File: name, Line: p.Line, Column: p.Column, Message: list[0].Message, Err: err}
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &SyntaxError{File: name, Line: pe.Position.Line, Column: pe.Position.Column, Message: pe.Message, Err: err}
	}
	return fmt.Errorf("compiling %s: %w", name, err)
}
