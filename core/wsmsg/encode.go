package wsmsg

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/amfjson"
)

// Append appends m as one JSON object, with the members its type carries, "type" first.
func Append(dst []byte, m *Message) ([]byte, error) {
	e := encoder{dst: append(dst, `{"type":`...)}
	e.str(string(m.Type))
	switch m.Type {
	case TypeConnect:
		e.args(m.Args)
	case TypeConnected, TypeRejected:
		e.value("info", m.Info)
	case TypeCall:
		e.id(m.ID)
		e.member("method").str(m.Method)
		e.args(m.Args)
	case TypeResult:
		e.id(m.ID)
		e.value("value", m.Value)
	case TypeError:
		e.id(m.ID)
		e.value("info", m.Info)
	case TypeStatus:
		e.value("info", m.Info)
		if m.Stream != 0 {
			e.member("stream").num(float64(m.Stream))
		}
	case TypePing, TypePong:
		e.id(m.ID)
	default:
		if !m.Type.isSO() {
			return dst, fmt.Errorf("wsmsg: encode: unknown type %q", m.Type)
		}
		e.member("name").str(m.Name)
		e.so(m)
	}
	if e.err != nil {
		return dst, fmt.Errorf("wsmsg: encode %s: %w", m.Type, e.err)
	}
	return append(e.dst, '}'), nil
}

// so writes the members of a shared-object message after its name.
func (e *encoder) so(m *Message) {
	switch m.Type {
	case TypeSOUse:
		e.member("persistent").boolean(m.Persistent)
		e.member("version").num(float64(m.Version))
	case TypeSOSet:
		e.member("key").str(m.Key)
		e.value("value", m.Value)
	case TypeSODelete:
		e.member("key").str(m.Key)
	case TypeSOSend:
		e.member("method").str(m.Method)
		e.args(m.Args)
	case TypeSOSync:
		e.member("version").num(float64(m.Version))
		e.changes(m.Changes)
	case TypeSOStatus:
		e.value("info", m.Info)
	case TypeSORelease:
	default:
		e.fail(fmt.Errorf("unknown type %q", m.Type))
	}
}

func (e *encoder) changes(cs []Change) {
	e.member("changes")
	e.dst = append(e.dst, '[')
	for i, c := range cs {
		if i > 0 {
			e.dst = append(e.dst, ',')
		}
		e.dst = append(e.dst, `{"code":`...)
		e.str(c.Code)
		if c.Name != "" || c.Code != CodeClear {
			e.member("name").str(c.Name)
		}
		if c.HasValue {
			e.value("value", c.Value)
		}
		e.dst = append(e.dst, '}')
	}
	e.dst = append(e.dst, ']')
}

// encoder appends members, keeping the first error.
type encoder struct {
	dst []byte
	err error
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) member(name string) *encoder {
	e.dst = append(e.dst, ',', '"')
	e.dst = append(e.dst, name...)
	e.dst = append(e.dst, '"', ':')
	return e
}

func (e *encoder) str(s string) {
	var err error
	if e.dst, err = amfjson.Append(e.dst, s); err != nil {
		e.fail(err)
	}
}

func (e *encoder) num(f float64)  { e.dst = strconv.AppendFloat(e.dst, f, 'g', -1, 64) }
func (e *encoder) boolean(b bool) { e.dst = strconv.AppendBool(e.dst, b) }
func (e *encoder) id(id float64)  { e.member("id").num(id) }
func (e *encoder) args(a []any)   { e.value("args", &amf.Array{Dense: nonNil(a)}) }
func (e *encoder) value(k string, v any) {
	e.member(k)
	var err error
	if e.dst, err = AppendValue(e.dst, v); err != nil {
		e.fail(fmt.Errorf("%s: %w", k, err))
	}
}

func nonNil(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

// AppendValue appends v as amfjson. A Go convenience that the AMF encoders take but amfjson
// does not (an int64, a []any, a map: what server code may hand a client) is first brought into
// the value model through an AMF3 round trip, so that a browser gets what an RTMP client would.
func AppendValue(dst []byte, v any) ([]byte, error) {
	out, err := amfjson.Append(dst, v)
	if !errors.Is(err, amfjson.ErrUnencodable) {
		return out, err
	}
	var enc amf.Encoder
	b, err := enc.AppendSwitched(nil, v)
	if err != nil {
		return dst, err
	}
	var dec amf.Decoder
	dec.Reset(b)
	nv, err := dec.DecodeAMF0()
	if err != nil {
		return dst, err
	}
	return amfjson.Append(dst, nv)
}
