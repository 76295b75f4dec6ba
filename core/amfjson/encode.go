// Package amfjson carries AMF values as JSON, for the clients that speak JSON instead of AMF
// (browsers over WebSocket): one value model with core/amf, so that the session core and the
// apps see a browser's call arguments and shared-object slots exactly as they see an RTMP
// client's. Plain JSON covers null, booleans, finite numbers, strings, plain objects and dense
// arrays; what JSON lacks travels as a tagged escape, a JSON object with exactly one key that
// starts with "$":
//
//	{"$undefined":true}                 amf.Undefined
//	{"$unsupported":true}               amf.Unsupported
//	{"$num":"NaN"|"Infinity"|"-Infinity"}  the numbers JSON cannot write
//	{"$date":MILLIS}                    amf.Date (MILLIS may itself be a $num)
//	{"$bytes":"BASE64"}                 amf.ByteArray (standard base64, padded)
//	{"$xml":"..."} / {"$xmldoc":"..."}  amf.XML (E4X) / amf.XMLDocument (legacy XML)
//	{"$typed":{"class":C,"props":{...}}}  a typed object (class name C)
//	{"$object":{...}}                   a plain object one of whose keys starts with "$"
//	{"$array":{"dense":[...],"assoc":{...},"ecma":B}}  an array with named or sparse entries
//	{"$vector":{"kind":"int"|"uint"|"double"|"object","fixed":B,"class":C,"items":[...]}}
//	{"$dict":{"weak":B,"entries":[[K,V],...]}}  amf.Dictionary
//	{"$ref":N}                          the N-th object, array, vector or dictionary of the
//	                                    message (0-based, in the order they open), so that shared
//	                                    and cyclic graphs survive
//
// Object keys keep their order both ways, as AMF does. A plain object's keys may not start with
// "$" (the encoder writes such an object as $object), so an escape is never mistaken for data.
package amfjson

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/fmsgo/fmsgo/core/amf"
)

// ErrUnencodable is returned for a Go value outside the AMF value model.
var ErrUnencodable = errors.New("amfjson: value outside the AMF value model")

// encoder numbers the containers of one message for $ref, as the decoder will.
type encoder struct {
	refs  map[any]int
	depth int
}

// maxEncodeDepth bounds the nesting written (a graph deeper than a decoder accepts is an error
// here, not at the client).
const maxEncodeDepth = 64

// Append appends v as JSON to dst.
func Append(dst []byte, v any) ([]byte, error) {
	e := encoder{}
	return e.value(dst, v)
}

func (e *encoder) value(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendNumber(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case string:
		return appendString(b, x), nil
	case amf.Undefined:
		return append(b, `{"$undefined":true}`...), nil
	case amf.Unsupported:
		return append(b, `{"$unsupported":true}`...), nil
	case amf.Date:
		return append(appendNumber(append(b, `{"$date":`...), x.Millis), '}'), nil
	case amf.ByteArray:
		b = append(b, `{"$bytes":"`...)
		return append(base64.StdEncoding.AppendEncode(b, x), `"}`...), nil
	case amf.XML:
		return append(appendString(append(b, `{"$xml":`...), string(x)), '}'), nil
	case amf.XMLDocument:
		return append(appendString(append(b, `{"$xmldoc":`...), string(x)), '}'), nil
	case *amf.Object, *amf.Array, *amf.Vector, *amf.Dictionary:
		return e.container(b, v)
	}
	return b, fmt.Errorf("%w: %T", ErrUnencodable, v)
}

// container writes a $ref for a container already written in this message, else the container.
func (e *encoder) container(b []byte, v any) ([]byte, error) {
	if n, seen := e.refs[v]; seen {
		return append(strconv.AppendInt(append(b, `{"$ref":`...), int64(n), 10), '}'), nil
	}
	if e.refs == nil {
		e.refs = map[any]int{}
	}
	e.refs[v] = len(e.refs)
	if e.depth++; e.depth > maxEncodeDepth {
		return b, fmt.Errorf("amfjson: nesting deeper than %d", maxEncodeDepth)
	}
	defer func() { e.depth-- }()
	switch x := v.(type) {
	case *amf.Object:
		return e.object(b, x)
	case *amf.Array:
		return e.array(b, x)
	case *amf.Vector:
		return e.vector(b, x)
	default:
		return e.dict(b, v.(*amf.Dictionary))
	}
}

func (e *encoder) object(b []byte, o *amf.Object) ([]byte, error) {
	var err error
	switch {
	case o.Class != "":
		b = appendString(append(b, `{"$typed":{"class":`...), o.Class)
		b, err = e.props(append(b, `,"props":`...), o.Props)
		return append(b, "}}"...), err
	case hasDollarKey(o.Props):
		b, err = e.props(append(b, `{"$object":`...), o.Props)
		return append(b, '}'), err
	}
	return e.props(b, o.Props)
}

func (e *encoder) props(b []byte, props []amf.Prop) ([]byte, error) {
	b = append(b, '{')
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.value(append(appendString(b, p.Key), ':'), p.Value); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (e *encoder) list(b []byte, items []any) ([]byte, error) {
	b = append(b, '[')
	for i, v := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.value(b, v); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func (e *encoder) array(b []byte, a *amf.Array) ([]byte, error) {
	if len(a.Assoc) == 0 && !a.ECMA {
		return e.list(b, a.Dense)
	}
	b, err := e.list(append(b, `{"$array":{"dense":`...), a.Dense)
	if err != nil {
		return b, err
	}
	if b, err = e.props(append(b, `,"assoc":`...), a.Assoc); err != nil {
		return b, err
	}
	return append(strconv.AppendBool(append(b, `,"ecma":`...), a.ECMA), "}}"...), nil
}

var vectorKinds = map[byte]string{amf.VectorInt: "int", amf.VectorUint: "uint", amf.VectorDouble: "double", amf.VectorObject: "object"}

func (e *encoder) vector(b []byte, v *amf.Vector) ([]byte, error) {
	kind, ok := vectorKinds[v.Kind]
	if !ok {
		return b, fmt.Errorf("%w: vector kind %#x", ErrUnencodable, v.Kind)
	}
	b = appendString(append(b, `{"$vector":{"kind":`...), kind)
	b = strconv.AppendBool(append(b, `,"fixed":`...), v.Fixed)
	b = appendString(append(b, `,"class":`...), v.Class)
	b, err := e.list(append(b, `,"items":`...), v.Items)
	return append(b, "}}"...), err
}

func (e *encoder) dict(b []byte, d *amf.Dictionary) ([]byte, error) {
	b = strconv.AppendBool(append(b, `{"$dict":{"weak":`...), d.WeakKeys)
	b = append(b, `,"entries":[`...)
	for i, en := range d.Entries {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.list(b, []any{en.Key, en.Value}); err != nil {
			return b, err
		}
	}
	return append(b, "]}}"...), nil
}

func hasDollarKey(props []amf.Prop) bool {
	for _, p := range props {
		if len(p.Key) > 0 && p.Key[0] == '$' {
			return true
		}
	}
	return false
}

// appendNumber writes f as JSON reads it back exactly (shortest round-trip form), and the
// numbers JSON has no literal for as $num.
func appendNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `{"$num":"NaN"}`...)
	case math.IsInf(f, 1):
		return append(b, `{"$num":"Infinity"}`...)
	case math.IsInf(f, -1):
		return append(b, `{"$num":"-Infinity"}`...)
	}
	// as JavaScript writes numbers: plain digits from 1e-6 up to 1e21, an exponent beyond
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control characters escaped,
// U+2028/U+2029 escaped (old JavaScript parsers end a line there), invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, "\\ufffd"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
