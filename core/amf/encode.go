package amf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// maxEncodeDepth bounds recursion when encoding; graphs that nest deeper are refused.
const maxEncodeDepth = 256

// Encoder encodes one message's worth of values. Repeated *Object/*Array/... pointers become
// references (AMF0 0x07, AMF3 object table), which also makes cyclic graphs finite. Reset starts
// a new message.
type Encoder struct {
	refs0 map[any]int
	n0    int
	strs  map[string]int
	objs  map[any]int
	nobj  int
	trait map[string]int
	depth int
}

// Reset clears the reference tables for a new message.
func (e *Encoder) Reset() {
	clear(e.refs0)
	clear(e.strs)
	clear(e.objs)
	clear(e.trait)
	e.n0, e.nobj, e.depth = 0, 0, 0
}

// AppendString0 appends an AMF0 string value (marker 0x02, or 0x0C when longer than 65535).
func AppendString0(dst []byte, s string) []byte {
	if len(s) > 0xFFFF {
		dst = append(dst, 0x0C)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
		return append(dst, s...)
	}
	dst = append(dst, 0x02)
	return appendKey0(dst, s)
}

// appendKey0 appends a plain u16-length UTF-8 string (object keys, no marker); callers check the
// length with fitsKey0 first.
func appendKey0(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// fitsKey0 refuses a key or class name AMF0 cannot carry (one decoded from AMF3 may be longer
// than 65535 bytes), instead of truncating it, possibly inside a UTF-8 sequence.
func fitsKey0(s string) error {
	if len(s) > 0xFFFF {
		return fmt.Errorf("amf: encode: AMF0 key or class name of %d bytes: %w", len(s), ErrTooLarge)
	}
	return nil
}

func appendF64(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// AppendSwitched appends 0x11 and one AMF3 value: how objectEncoding-3 clients get values.
func (e *Encoder) AppendSwitched(dst []byte, v any) ([]byte, error) {
	return e.AppendAMF3(append(dst, 0x11), v)
}

// normalize maps Go conveniences onto the value model.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case time.Time:
		return Date{Millis: float64(x.UnixMilli())}
	case []any:
		return &Array{Dense: x}
	case []string:
		a := &Array{Dense: make([]any, len(x))}
		for i, s := range x {
			a.Dense[i] = s
		}
		return a
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := &Object{Props: make([]Prop, len(keys))}
		for i, k := range keys {
			o.Props[i] = Prop{Key: k, Value: x[k]}
		}
		return o
	case []byte:
		return ByteArray(x)
	case *Object: // typed nil pointers are null, not a crash
		if x == nil {
			return nil
		}
	case *Array:
		if x == nil {
			return nil
		}
	case *Vector:
		if x == nil {
			return nil
		}
	case *Dictionary:
		if x == nil {
			return nil
		}
	}
	return v
}

func (e *Encoder) enter() error {
	if e.depth >= maxEncodeDepth {
		return fmt.Errorf("amf: encode: deeper than %d: %w", maxEncodeDepth, ErrTooDeep)
	}
	e.depth++
	return nil
}

// AppendAMF0 appends one AMF0 value. AMF0 has no string references, so a value decoded from
// AMF3 (where one long string may be referenced by many two-byte references) can grow a lot when
// re-encoded as AMF0: forward untrusted values in the encoding they arrived in, or bound the output.
func (e *Encoder) AppendAMF0(dst []byte, v any) ([]byte, error) {
	switch x := normalize(v).(type) {
	case nil:
		return append(dst, 0x05), nil
	case Undefined:
		return append(dst, 0x06), nil
	case Unsupported:
		return append(dst, 0x0D), nil
	case float64:
		return appendF64(append(dst, 0x00), x), nil
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return append(dst, 0x01, b), nil
	case string:
		return AppendString0(dst, x), nil
	case Date:
		dst = appendF64(append(dst, 0x0B), x.Millis)
		return binary.BigEndian.AppendUint16(dst, uint16(x.TimeZone)), nil
	case XMLDocument:
		dst = binary.BigEndian.AppendUint32(append(dst, 0x0F), uint32(len(x)))
		return append(dst, x...), nil
	case *Object:
		return e.object0(dst, x)
	case *Array:
		return e.array0(dst, x)
	case XML, ByteArray, *Vector, *Dictionary:
		return e.AppendSwitched(dst, x) // AMF3-only types travel switched
	}
	return nil, fmt.Errorf("amf: encode %T: %w", v, ErrUnsupported)
}

// ref0 emits a reference if p was already written in this message, else records it.
func (e *Encoder) ref0(dst []byte, p any) ([]byte, bool) {
	if e.refs0 == nil {
		e.refs0 = make(map[any]int)
	}
	if i, ok := e.refs0[p]; ok && i <= 0xFFFF {
		return binary.BigEndian.AppendUint16(append(dst, 0x07), uint16(i)), true
	}
	e.refs0[p] = e.n0
	e.n0++
	return dst, false
}

// props0 writes dense values under the keys "0", "1", ... then props, then the object end.
func (e *Encoder) props0(dst []byte, dense []any, props []Prop) ([]byte, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer func() { e.depth-- }()
	var err error
	for i, v := range dense {
		dst = appendIndexKey0(dst, i)
		if dst, err = e.AppendAMF0(dst, v); err != nil {
			return nil, err
		}
	}
	for _, p := range props {
		if err := fitsKey0(p.Key); err != nil {
			return nil, err
		}
		dst = appendKey0(dst, p.Key)
		if dst, err = e.AppendAMF0(dst, p.Value); err != nil {
			return nil, err
		}
	}
	return append(dst, 0, 0, 0x09), nil
}

func (e *Encoder) object0(dst []byte, o *Object) ([]byte, error) {
	if out, ok := e.ref0(dst, o); ok {
		return out, nil
	}
	if err := fitsKey0(o.Class); err != nil {
		return nil, err
	}
	if o.Class != "" {
		dst = appendKey0(append(dst, 0x10), o.Class)
	} else {
		dst = append(dst, 0x03)
	}
	return e.props0(dst, nil, o.Props)
}

func (e *Encoder) array0(dst []byte, a *Array) ([]byte, error) {
	if out, ok := e.ref0(dst, a); ok {
		return out, nil
	}
	if !a.ECMA && len(a.Assoc) == 0 {
		if err := e.enter(); err != nil {
			return nil, err
		}
		defer func() { e.depth-- }()
		dst = binary.BigEndian.AppendUint32(append(dst, 0x0A), uint32(len(a.Dense)))
		var err error
		for _, v := range a.Dense {
			if dst, err = e.AppendAMF0(dst, v); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	dst = binary.BigEndian.AppendUint32(append(dst, 0x08), uint32(len(a.Dense)+len(a.Assoc)))
	return e.props0(dst, a.Dense, a.Assoc)
}

// appendIndexKey0 writes the key "i" of a dense element of an ECMA array, without allocating.
func appendIndexKey0(dst []byte, i int) []byte {
	at := len(dst)
	dst = strconv.AppendInt(append(dst, 0, 0), int64(i), 10)
	binary.BigEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
	return dst
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}
