package trunk

import (
	"encoding/binary"
	"fmt"
)

// body is a cursor over an untrusted frame body. Every read checks the bytes left first; the first
// failure sticks, so decoders read all fields and check err once.
type body struct {
	b    []byte
	kind Kind
	err  error
}

func (r *body) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: %s: %s needs %d bytes, %d left", ErrBodyShort, r.kind, what, n, len(r.b))
		return false
	}
	return true
}

func (r *body) u8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *body) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *body) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *body) u64(what string) uint64 {
	if !r.need(8, what) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *body) fixed(dst []byte, what string) {
	if r.need(len(dst), what) {
		copy(dst, r.b)
		r.b = r.b[len(dst):]
	}
}

// str reads a u16-length UTF-8 string (copied: strings outlive the frame buffer).
func (r *body) str(what string) string {
	n := int(r.u16(what))
	if !r.need(n, what) {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// blob reads a u32-length byte string, aliasing the frame body.
func (r *body) blob(what string) []byte {
	n := r.u32(what)
	if !r.need(int(min(n, 1<<31-1)), what) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// rest returns the remaining bytes, aliasing the frame body.
func (r *body) rest() []byte {
	v := r.b
	r.b = nil
	return v
}

// end fails if bytes are left over: a body longer than its kind's layout is malformed, except
// where a kind documents trailing extension fields (none in version 1).
func (r *body) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("trunk: %s: %d unexpected trailing bytes", r.kind, len(r.b))
	}
	return r.err
}

func appendStr(dst []byte, s string) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF] // strings on the trunk are names and addresses; longer input is cut, not fatal
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendBlob(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}
