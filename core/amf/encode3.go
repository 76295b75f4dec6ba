package amf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

func appendU29(dst []byte, v uint32) []byte {
	v &= 0x1FFFFFFF
	switch {
	case v < 0x80:
		return append(dst, byte(v))
	case v < 0x4000:
		return append(dst, byte(v>>7|0x80), byte(v&0x7F))
	case v < 0x200000:
		return append(dst, byte(v>>14|0x80), byte(v>>7|0x80), byte(v&0x7F))
	}
	return append(dst, byte(v>>22|0x80), byte(v>>15|0x80), byte(v>>8|0x80), byte(v))
}

// AppendAMF3 appends one AMF3 value.
func (e *Encoder) AppendAMF3(dst []byte, v any) ([]byte, error) {
	switch x := normalize(v).(type) {
	case nil:
		return append(dst, 0x01), nil
	case Undefined, Unsupported:
		return append(dst, 0x00), nil
	case bool:
		if x {
			return append(dst, 0x03), nil
		}
		return append(dst, 0x02), nil
	case float64:
		return appendNumber3(dst, x), nil
	case string:
		if err := fitsU29(len(x)); err != nil {
			return nil, err
		}
		return e.string3(append(dst, 0x06), x), nil
	default:
		return e.complex3(dst, x)
	}
}

// maxLen3 is the largest length an AMF3 U29 header can carry (28 bits after the flag bit).
const maxLen3 = 1<<28 - 1

// fitsU29 refuses values whose length AMF3 cannot express, instead of silently truncating it.
func fitsU29(n int) error {
	if n > maxLen3 {
		return fmt.Errorf("amf: encode: length %d over AMF3's %d: %w", n, maxLen3, ErrTooLarge)
	}
	return nil
}

func appendNumber3(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -(1<<28) && f < 1<<28 && !(f == 0 && math.Signbit(f)) {
		return appendU29(append(dst, 0x04), uint32(int32(f)))
	}
	return appendF64(append(dst, 0x05), f)
}

// string3 appends an AMF3 string body (no marker), by reference when already sent.
func (e *Encoder) string3(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, 0x01)
	}
	if e.strs == nil {
		e.strs = make(map[string]int)
	}
	if i, ok := e.strs[s]; ok {
		return appendU29(dst, uint32(i)<<1)
	}
	e.strs[s] = len(e.strs)
	return append(appendU29(dst, uint32(len(s))<<1|1), s...)
}

// objRef3 emits a reference for a pointer already sent, else records it in the object table.
func (e *Encoder) objRef3(dst []byte, key any) ([]byte, bool) {
	if e.objs == nil {
		e.objs = make(map[any]int)
	}
	if i, ok := e.objs[key]; ok {
		return appendU29(dst, uint32(i)<<1), true
	}
	e.objs[key] = e.nobj
	e.nobj++
	return dst, false
}

func (e *Encoder) complex3(dst []byte, v any) ([]byte, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer func() { e.depth-- }()
	if err := fitsU29(len3(v)); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case Date:
		e.nobj++ // dates are values here: never referenced, but they take a table slot
		return appendF64(append(dst, 0x08, 0x01), x.Millis), nil
	case XMLDocument:
		dst, body := e.blob3(dst, 0x07, xmlKey{0x07, string(x)}, len(x))
		return append(dst, x[:body]...), nil
	case XML:
		dst, body := e.blob3(dst, 0x0B, xmlKey{0x0B, string(x)}, len(x))
		return append(dst, x[:body]...), nil
	case ByteArray:
		var key any
		if len(x) > 0 {
			key = bytesKey{&x[0], len(x)}
		}
		dst, body := e.blob3(dst, 0x0C, key, len(x))
		return append(dst, x[:body]...), nil
	case *Object:
		return e.object3(append(dst, 0x0A), x)
	case *Array:
		return e.array3(append(dst, 0x09), x)
	case *Vector:
		return e.vector3(dst, x)
	case *Dictionary:
		return e.dict3(append(dst, 0x11), x)
	}
	return nil, fmt.Errorf("amf: encode %T: %w", v, ErrUnsupported)
}

// bytesKey identifies a byte array by where its bytes live, xmlKey an XML value by its text: a
// decoded message that references one big value many times must not be re-encoded as many copies.
type bytesKey struct {
	p *byte
	n int
}

type xmlKey struct {
	m byte
	s string
}

// blob3 writes the marker and either a reference to key (body 0) or the inline header of n
// bytes (body n); the caller appends body bytes.
func (e *Encoder) blob3(dst []byte, m byte, key any, n int) ([]byte, int) {
	dst = append(dst, m)
	if n == 0 {
		e.nobj++
		return append(dst, 0x01), 0
	}
	if out, ok := e.objRef3(dst, key); ok {
		return out, 0
	}
	return appendU29(dst, uint32(n)<<1|1), n
}

// len3 is the length a complex value puts in its U29 header.
func len3(v any) int {
	switch x := v.(type) {
	case XMLDocument:
		return len(x)
	case XML:
		return len(x)
	case ByteArray:
		return len(x)
	case *Array:
		return len(x.Dense)
	case *Vector:
		return len(x.Items)
	case *Dictionary:
		return len(x.Entries)
	}
	return 0
}

func (e *Encoder) object3(dst []byte, o *Object) ([]byte, error) {
	if out, ok := e.objRef3(dst, o); ok {
		return out, nil
	}
	var err error
	if o.Class == "" { // anonymous: dynamic, no sealed members
		dst = e.traits3(dst, "", nil, true)
		for _, p := range o.Props {
			if p.Key == "" {
				continue
			}
			dst = e.string3(dst, p.Key)
			if dst, err = e.AppendAMF3(dst, p.Value); err != nil {
				return nil, err
			}
		}
		return append(dst, 0x01), nil
	}
	names := make([]string, len(o.Props))
	for i, p := range o.Props {
		names[i] = p.Key
	}
	dst = e.traits3(dst, o.Class, names, false)
	for _, p := range o.Props {
		if dst, err = e.AppendAMF3(dst, p.Value); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// traits3 writes an inline traits header, or a reference to identical traits sent before.
func (e *Encoder) traits3(dst []byte, class string, sealed []string, dynamic bool) []byte {
	key := traitsKey(class, sealed, dynamic)
	if e.trait == nil {
		e.trait = make(map[string]int)
	}
	if i, ok := e.trait[key]; ok {
		return appendU29(dst, uint32(i)<<2|1)
	}
	e.trait[key] = len(e.trait)
	h := uint32(len(sealed))<<4 | 0x03
	if dynamic {
		h |= 0x08
	}
	dst = e.string3(appendU29(dst, h), class)
	for _, s := range sealed {
		dst = e.string3(dst, s)
	}
	return dst
}

func (e *Encoder) array3(dst []byte, a *Array) ([]byte, error) {
	if out, ok := e.objRef3(dst, a); ok {
		return out, nil
	}
	dst = appendU29(dst, uint32(len(a.Dense))<<1|1)
	var err error
	for _, p := range a.Assoc {
		if p.Key == "" {
			continue
		}
		dst = e.string3(dst, p.Key)
		if dst, err = e.AppendAMF3(dst, p.Value); err != nil {
			return nil, err
		}
	}
	dst = append(dst, 0x01)
	for _, v := range a.Dense {
		if dst, err = e.AppendAMF3(dst, v); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func (e *Encoder) vector3(dst []byte, v *Vector) ([]byte, error) {
	kind := v.Kind
	if kind < VectorInt || kind > VectorObject {
		kind = VectorObject
	}
	dst = append(dst, kind)
	if out, ok := e.objRef3(dst, v); ok {
		return out, nil
	}
	fixed := byte(0)
	if v.Fixed {
		fixed = 1
	}
	dst = append(appendU29(dst, uint32(len(v.Items))<<1|1), fixed)
	if kind == VectorObject {
		dst = e.string3(dst, v.Class)
	}
	var err error
	for _, it := range v.Items {
		f, _ := normalize(it).(float64)
		switch kind {
		case VectorInt:
			dst = binary.BigEndian.AppendUint32(dst, uint32(int32(f)))
		case VectorUint:
			dst = binary.BigEndian.AppendUint32(dst, uint32(f))
		case VectorDouble:
			dst = appendF64(dst, f)
		default:
			if dst, err = e.AppendAMF3(dst, it); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

func (e *Encoder) dict3(dst []byte, d *Dictionary) ([]byte, error) {
	if out, ok := e.objRef3(dst, d); ok {
		return out, nil
	}
	weak := byte(0)
	if d.WeakKeys {
		weak = 1
	}
	dst = append(appendU29(dst, uint32(len(d.Entries))<<1|1), weak)
	var err error
	for _, en := range d.Entries {
		if dst, err = e.AppendAMF3(dst, en.Key); err != nil {
			return nil, err
		}
		if dst, err = e.AppendAMF3(dst, en.Value); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// traitsKey identifies traits by class, dynamic flag and member names; every part is
// length-prefixed so that no choice of names can make two different traits collide.
func traitsKey(class string, sealed []string, dynamic bool) string {
	if class == "" && len(sealed) == 0 && dynamic {
		return "d" // anonymous objects, the common case: no allocation
	}
	b := make([]byte, 0, 16+len(class)+8*len(sealed))
	kind := byte('s')
	if dynamic {
		kind = 'd'
	}
	b = appendLenPrefixed(append(b, kind), class)
	for _, s := range sealed {
		b = appendLenPrefixed(b, s)
	}
	return string(b)
}

func appendLenPrefixed(b []byte, s string) []byte {
	b = append(strconv.AppendInt(b, int64(len(s)), 10), ':')
	return append(b, s...)
}
