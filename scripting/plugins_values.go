package scripting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/scripting/jsapi"
)

// The plain values of the rpc extension point (plugin.RPCService): what a module gets as
// arguments and may return, without the AMF model's types.

// maxPlainNodes bounds the values of one result (containers and elements): a module returning
// a shared subtree many times over must not make the loop build an unbounded graph.
const maxPlainNodes = 1 << 20

var (
	errCyclic   = errors.New("value refers to itself")
	errTooLarge = fmt.Errorf("value of more than %d elements", maxPlainNodes)
)

// plainArg converts a value of the AMF model, as Converter.FromJS made it from a JS argument,
// to the plain values: nil, bool, float64, string, time.Time, []byte, []any, map[string]any.
// A node reached twice is converted once (the module sees one shared value); a cycle is an
// error.
func plainArg(v any) (any, error) {
	p := plainer{done: map[any]any{}, open: map[any]bool{}}
	return p.arg(v)
}

type plainer struct {
	done map[any]any  // containers converted
	open map[any]bool // containers being converted (a cycle reaches one)
}

func (p *plainer) arg(v any) (any, error) {
	switch x := v.(type) {
	case nil, amf.Undefined, amf.Unsupported:
		return nil, nil
	case float64, string, bool:
		return x, nil
	case amf.Date:
		if math.IsNaN(x.Millis) || math.IsInf(x.Millis, 0) {
			return nil, nil // an invalid Date
		}
		return time.UnixMicro(int64(x.Millis * 1000)), nil
	case amf.ByteArray:
		return []byte(x), nil
	case amf.XMLDocument:
		return string(x), nil
	case amf.XML:
		return string(x), nil
	case *amf.Object, *amf.Array, *amf.Vector, *amf.Dictionary:
		return p.container(x)
	}
	return nil, fmt.Errorf("value of type %T", v)
}

func (p *plainer) container(v any) (any, error) {
	if out, ok := p.done[v]; ok {
		return out, nil
	}
	if p.open[v] {
		return nil, errCyclic
	}
	p.open[v] = true
	defer delete(p.open, v)
	var out any
	var err error
	switch x := v.(type) {
	case *amf.Object:
		out, err = p.props(make(map[string]any, len(x.Props)), x.Props)
	case *amf.Array:
		out, err = p.array(x)
	case *amf.Vector:
		out, err = p.list(x.Items)
	case *amf.Dictionary:
		m := make(map[string]any, len(x.Entries))
		for _, e := range x.Entries {
			if m[fmt.Sprint(e.Key)], err = p.arg(e.Value); err != nil {
				break
			}
		}
		out = m
	}
	if err != nil {
		return nil, err
	}
	p.done[v] = out
	return out, nil
}

func (p *plainer) props(m map[string]any, props []amf.Prop) (map[string]any, error) {
	for _, pr := range props {
		v, err := p.arg(pr.Value)
		if err != nil {
			return nil, err
		}
		m[pr.Key] = v
	}
	return m, nil
}

func (p *plainer) list(items []any) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		v, err := p.arg(it)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// array is a JS array: []any, or, when it has named properties too, an object keyed by index
// and name.
func (p *plainer) array(a *amf.Array) (any, error) {
	if len(a.Assoc) == 0 {
		return p.list(a.Dense)
	}
	m := make(map[string]any, len(a.Dense)+len(a.Assoc))
	for i, it := range a.Dense {
		v, err := p.arg(it)
		if err != nil {
			return nil, err
		}
		m[strconv.Itoa(i)] = v
	}
	return p.props(m, a.Assoc)
}

// plainResult checks and normalises what a module returned, on the call's goroutine, so that
// the loop only converts plain values (jsapi.Converter.ToJS): integers and float32 become
// float64, []string and map[string]string their []any and map[string]any forms. Anything else
// — a struct, a pointer, a channel — is refused: JS must never get a Go object whose methods it
// could call on the loop.
func plainResult(v any) (any, error) {
	n := 0
	return plainOut(v, 0, &n)
}

func plainOut(v any, depth int, n *int) (any, error) {
	if *n++; *n > maxPlainNodes {
		return nil, errTooLarge
	}
	if depth > jsapi.MaxDepth {
		return nil, fmt.Errorf("%w (or refers to itself)", jsapi.ErrTooDeep)
	}
	switch x := v.(type) {
	case nil, bool, string, float64, time.Time:
		return x, nil
	case []byte:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			var err error
			if out[i], err = plainOut(it, depth+1, n); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			var err error
			if out[k], err = plainOut(it, depth+1, n); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out, nil
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	return nil, fmt.Errorf("a result of type %T is not a plain value", v)
}

// number converts Go's other number types to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}
