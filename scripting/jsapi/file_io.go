package jsapi

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// readChunk is how much readln reads at a time looking for the end of a line.
const readChunk = 4096

// fileIOMethods defines open, close, the reads and writes, seek, eof and flush.
func (a *App) fileIOMethods(hc *hostClass) {
	rt := a.RT
	hc.method("open", a.jsOpen)
	hc.method("close", func(call goja.FunctionCall) goja.Value { return rt.ToValue(a.closeFile(a.fileOf(call.This, "close"))) })
	hc.method("flush", func(call goja.FunctionCall) goja.Value {
		st := a.fileOf(call.This, "flush")
		return rt.ToValue(st.h != nil && st.h.Sync() == nil)
	})
	hc.method("eof", func(call goja.FunctionCall) goja.Value {
		st := a.fileOf(call.This, "eof")
		return rt.ToValue(st.h == nil || st.pos >= st.h.Size())
	})
	hc.method("seek", func(call goja.FunctionCall) goja.Value {
		st := a.fileOf(call.This, "seek")
		if st.h == nil {
			return rt.ToValue(-1)
		}
		st.seekTo(st.pos + call.Argument(0).ToInteger())
		return rt.ToValue(st.pos)
	})
	hc.method("read", a.jsRead)
	hc.method("readln", a.jsReadln)
	hc.method("readAll", a.jsReadAll)
	hc.method("readByte", a.jsReadByte)
	hc.method("write", func(call goja.FunctionCall) goja.Value { return a.jsWrite(call, "write", "") })
	hc.method("writeln", func(call goja.FunctionCall) goja.Value { return a.jsWrite(call, "writeln", "\n") })
	hc.method("writeAll", a.jsWriteAll)
	hc.method("writeByte", a.jsWriteByte)
}

// readable returns st if it is open for reading.
func (a *App) readable(this goja.Value, what string) *fileState {
	st := a.fileOf(this, what)
	if st.h == nil || !st.canRead {
		return nil
	}
	return st
}

// readBytes reads up to n bytes at the position without moving it; n is capped at the
// containment cap (RangeError past it is the caller's call).
func (st *fileState) readBytes(n int64) ([]byte, error) {
	n = min(n, st.h.Size()-st.pos)
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	got, err := st.h.ReadAt(buf, st.pos)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return buf[:got], err
}

// jsRead is read(n): n characters (text, utf8) or bytes (binary) from the position, fewer at
// the end of the file.
func (a *App) jsRead(call goja.FunctionCall) goja.Value {
	st := a.readable(call.This, "read")
	n := call.Argument(0).ToInteger()
	if st == nil || n <= 0 {
		return a.RT.ToValue("")
	}
	if n > DefaultResultCap {
		a.throwRange("File.read: result too large")
	}
	want := n
	if st.typ != "binary" {
		want = min(n*utf8.UTFMax, DefaultResultCap)
	}
	b, err := st.readBytes(want)
	if err != nil {
		return a.RT.ToValue("")
	}
	if st.typ == "binary" {
		st.pos += int64(len(b))
		return a.RT.ToValue(latin1(b))
	}
	b = st.skipBOM(b)
	used := 0
	for chars := int64(0); chars < n && used < len(b); chars++ {
		if !utf8.FullRune(b[used:]) && st.pos+int64(len(b)) < st.h.Size() {
			break // the rest of this character is past what was read
		}
		_, size := utf8.DecodeRune(b[used:])
		used += size
	}
	st.pos += int64(used)
	return a.RT.ToValue(strings.ToValidUTF8(string(b[:used]), "\uFFFD"))
}

// skipBOM drops a UTF-8 byte order mark read at the start of a "utf8" file.
func (st *fileState) skipBOM(b []byte) []byte {
	if st.typ == "utf8" && st.pos == 0 && bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		st.pos += 3
		return b[3:]
	}
	return b
}

// latin1 maps bytes to the characters of the same codes (binary mode).
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// nextLine reads one line from the position: CR, LF and CRLF end lines and are not part of it.
// ok is false at the end of the file.
func (a *App) nextLine(st *fileState) (line []byte, ok bool) {
	start, scan := st.pos, st.pos
	size := st.h.Size()
	var buf []byte
	for scan < size {
		if scan-start > DefaultResultCap {
			a.throwRange("File.readln: line too long")
		}
		chunk := make([]byte, min(readChunk, size-scan))
		n, err := st.h.ReadAt(chunk, scan)
		if n == 0 && err != nil {
			break
		}
		chunk = chunk[:n]
		if i := bytes.IndexAny(chunk, "\r\n"); i >= 0 {
			buf = append(buf, chunk[:i]...)
			end := scan + int64(i) + 1
			if chunk[i] == '\r' && st.peek(end) == '\n' {
				end++
			}
			st.pos = end
			return buf, true
		}
		buf = append(buf, chunk...)
		scan += int64(n)
	}
	st.pos = scan
	return buf, scan > start
}

// peek reads the byte at off (0 past the end).
func (st *fileState) peek(off int64) byte {
	var b [1]byte
	if n, _ := st.h.ReadAt(b[:], off); n == 1 {
		return b[0]
	}
	return 0
}

// lineValue converts a line's bytes for the file's type.
func (st *fileState) lineValue(b []byte) string {
	if st.typ == "binary" {
		return latin1(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// jsReadln is readln(): the next line without its end, or null at the end of the file.
func (a *App) jsReadln(call goja.FunctionCall) goja.Value {
	st := a.readable(call.This, "readln")
	if st == nil {
		return goja.Null()
	}
	if st.typ == "utf8" && st.pos == 0 && st.peek(0) == 0xEF && st.peek(1) == 0xBB && st.peek(2) == 0xBF {
		st.pos = 3
	}
	line, ok := a.nextLine(st)
	if !ok {
		return goja.Null()
	}
	return a.RT.ToValue(st.lineValue(line))
}

// jsReadAll is readAll(): the lines from the position to the end, as an Array.
func (a *App) jsReadAll(call goja.FunctionCall) goja.Value {
	st := a.readable(call.This, "readAll")
	if st == nil {
		return a.RT.NewArray()
	}
	if st.h.Size()-st.pos > DefaultResultCap {
		a.throwRange("File.readAll: file too large for one call; read it with readln")
	}
	var lines []any
	for {
		line, ok := a.nextLine(st)
		if !ok {
			break
		}
		if len(lines) >= DefaultResultCap/16 {
			a.throwRange("File.readAll: too many lines")
		}
		lines = append(lines, st.lineValue(line))
	}
	return a.RT.NewArray(lines...)
}

// jsReadByte is readByte(): the next byte's value, -1 at the end or on failure.
func (a *App) jsReadByte(call goja.FunctionCall) goja.Value {
	st := a.readable(call.This, "readByte")
	if st == nil || st.pos >= st.h.Size() {
		return a.RT.ToValue(-1)
	}
	b := st.peek(st.pos)
	st.pos++
	return a.RT.ToValue(int(b))
}

// encode turns a string into the file's bytes: UTF-8, or one byte per character in binary mode
// (false for a character past U+00FF).
func (st *fileState) encode(s string) ([]byte, bool) {
	if st.typ != "binary" {
		return []byte(s), true
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// writeBytes writes b at the position ("append": at the end) and moves past it.
func (a *App) writeBytes(st *fileState, what string, b []byte) goja.Value {
	if st.h == nil || !st.canWrite {
		return a.RT.ToValue(false)
	}
	if st.canAppend {
		st.pos = st.h.Size()
	}
	n, err := st.h.WriteAt(b, st.pos)
	st.pos += int64(n)
	if err != nil {
		return a.fsFailed(what, st.path, err)
	}
	return a.RT.ToValue(true)
}

// jsWrite is write(...) and writeln(...): every argument as a string, without separators, and
// end after the last.
func (a *App) jsWrite(call goja.FunctionCall, what, end string) goja.Value {
	st := a.fileOf(call.This, what)
	var sb strings.Builder
	for _, v := range call.Arguments {
		s := v.String()
		if sb.Len()+len(s) > DefaultResultCap {
			a.throwRange("File." + what + ": data too large for one call")
		}
		sb.WriteString(s)
	}
	sb.WriteString(end)
	b, ok := st.encode(sb.String())
	if !ok {
		return a.RT.ToValue(false)
	}
	return a.writeBytes(st, what, b)
}

// jsWriteAll is writeAll(array): writeln of each element.
func (a *App) jsWriteAll(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "writeAll")
	arr, ok := call.Argument(0).(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		a.throwType("File.writeAll: the argument must be an Array")
	}
	var sb strings.Builder
	n := arr.Get("length").ToInteger()
	for i := int64(0); i < n; i++ {
		s := arr.Get(strconv.FormatInt(i, 10)).String()
		if sb.Len()+len(s) > DefaultResultCap {
			a.throwRange("File.writeAll: data too large for one call")
		}
		sb.WriteString(s)
		sb.WriteByte('\n')
	}
	b, ok := st.encode(sb.String())
	if !ok {
		return a.RT.ToValue(false)
	}
	return a.writeBytes(st, "writeAll", b)
}

// jsWriteByte is writeByte(n): the byte n & 0xFF.
func (a *App) jsWriteByte(call goja.FunctionCall) goja.Value {
	st := a.fileOf(call.This, "writeByte")
	return a.writeBytes(st, "writeByte", []byte{byte(call.Argument(0).ToInteger())})
}
