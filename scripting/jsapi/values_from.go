package jsapi

import (
	"bytes"
	"fmt"
	"math/big"
	"reflect"
	"strconv"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
)

// sparseSlack is how far an array's length may exceed its present elements before the array is
// sent as an associative array: `a[1e9] = 1` must not allocate a billion undefineds.
const sparseSlack = 1024

// FromJS converts a JS value to the AMF model, for sending it to a client or persisting it:
//
//	undefined → amf.Undefined{}; null → nil; number → float64 (NaN and -0 kept); BigInt → float64;
//	string → string (UTF-16 surrogate pairs become proper UTF-8, a lone surrogate U+FFFD);
//	boolean → bool; boxed primitives → their value; Date → amf.Date;
//	Array → *amf.Array: elements 0..length-1 as Dense (holes → amf.Undefined{}), other own
//	  enumerable keys as Assoc. An array much sparser than its length (more than 1024 missing
//	  beyond twice its elements) sends its elements as Assoc keys instead. An array that came
//	  from an ECMA array goes back as one (every key in Assoc, ECMA set); one that came from a
//	  vector goes back as the same kind of *amf.Vector;
//	Map → *amf.Dictionary if it came from a dictionary, else *amf.Object keyed by String(key);
//	Set → *amf.Array of its values;
//	ArrayBuffer, typed arrays, DataView → amf.ByteArray (a copy of the viewed bytes);
//	any other object → *amf.Object of its own enumerable string keys in order (so a host object
//	  sends its plain data properties); a key "__proto__$", "constructor$" or "prototype$" (and
//	  those with more "$") loses one "$", undoing ToJS's renaming (see Converter). Its Class is the name registered for the nearest
//	  prototype on its chain, else the hidden class name ToJS gave it, else "".
//
// Functions and symbols are left out as property values and become undefined as elements or at
// top level; a getter that throws leaves its property out. One JS object reached twice becomes
// one pointer reached twice, so the AMF encoders emit references and cycles end. Nesting deeper
// than MaxDepth returns ErrTooDeep; any other exception thrown while reading the value (a
// hostile Proxy) is returned as an error.
func (c *Converter) FromJS(v goja.Value) (out any, err error) {
	memo := c.spareFrom
	c.spareFrom = nil // a re-entrant call (from a getter) gets its own table
	if memo == nil {
		memo = make(map[*goja.Object]any)
	}
	if ex := c.rt.Try(func() { out, err = c.fromJS(v, 0, memo) }); ex != nil {
		out, err = nil, fmt.Errorf("converting a JS value to AMF: %w", ex)
	}
	clear(memo)
	c.spareFrom = memo
	return out, err
}

// skipped reports whether v is left out as a property value (functions, symbols).
func skipped(v goja.Value) bool {
	if _, ok := v.(*goja.Symbol); ok {
		return true
	}
	_, ok := goja.AssertFunction(v)
	return ok
}

func (c *Converter) fromJS(v goja.Value, depth int, memo map[*goja.Object]any) (any, error) {
	if v == nil || goja.IsUndefined(v) {
		return amf.Undefined{}, nil
	}
	if goja.IsNull(v) {
		return nil, nil
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return primitive(v.Export()), nil
	}
	if r, ok := memo[obj]; ok {
		return r, nil
	}
	if skipped(obj) {
		return amf.Undefined{}, nil
	}
	if depth >= MaxDepth {
		return nil, ErrTooDeep
	}
	switch obj.ClassName() {
	case "Array":
		return c.arrayFromJS(obj, depth, memo)
	case "Date":
		return amf.Date{Millis: obj.ToFloat()}, nil
	case "String":
		return obj.String(), nil
	case "Number", "Boolean":
		return primitive(obj.Export()), nil
	}
	proto := obj.Prototype()
	if proto != c.objProto {
		switch obj.ExportType() {
		case c.mapType:
			return c.mapFromJS(obj, depth, memo)
		case c.setType:
			return c.setFromJS(obj, depth, memo)
		}
		if b, ok := c.bytesOf(obj); ok {
			return b, nil
		}
		if c.host != nil {
			if v, ok := c.host(obj); ok {
				return v, nil
			}
		}
	}
	return c.objectFromJS(obj, proto, depth, memo)
}

// primitive maps an exported JS primitive to the model; a symbol (or anything else) is undefined.
func primitive(x any) any {
	switch x := x.(type) {
	case int64:
		return float64(x)
	case float64, string, bool:
		return x
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	}
	return amf.Undefined{}
}

// bytesOf returns the bytes of an ArrayBuffer, typed array or DataView.
func (c *Converter) bytesOf(obj *goja.Object) (amf.ByteArray, bool) {
	if obj.ExportType() == arrayBufferType {
		ab, _ := obj.Export().(goja.ArrayBuffer)
		return amf.ByteArray(bytes.Clone(ab.Bytes())), true
	}
	if t := obj.ExportType(); t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
		return nil, false
	}
	if r, err := c.isView(goja.Undefined(), obj); err != nil || !r.ToBoolean() {
		return nil, false
	}
	var view []byte
	if err := c.rt.ExportTo(obj, &view); err != nil {
		return nil, false
	}
	return amf.ByteArray(bytes.Clone(view)), true
}

// get reads a property, reporting false when its getter throws.
func (c *Converter) get(obj *goja.Object, key string) (v goja.Value, ok bool) {
	return v, c.rt.Try(func() { v = obj.Get(key) }) == nil
}

// tagOf returns the hidden mark ToJS put on obj, or "".
func (c *Converter) tagOf(obj *goja.Object) string {
	t := obj.GetSymbol(c.tag)
	if t == nil {
		return ""
	}
	s, _ := t.Export().(string)
	return s
}

// classOf names obj's AMF class: a registered prototype on its chain, else its hidden tag.
func (c *Converter) classOf(obj, proto *goja.Object) string {
	if len(c.classes) > 0 {
		for p, n := proto, 0; p != nil && p != c.objProto && n < MaxDepth; p, n = p.Prototype(), n+1 {
			for i := len(c.classes) - 1; i >= 0; i-- {
				if c.prototypeOf(c.classes[i].ctor) == p {
					return c.classes[i].name
				}
			}
		}
	}
	return c.tagOf(obj)
}

func (c *Converter) objectFromJS(obj, proto *goja.Object, depth int, memo map[*goja.Object]any) (any, error) {
	out := &amf.Object{Class: c.classOf(obj, proto)}
	memo[obj] = out
	keys := obj.Keys()
	out.Props = make([]amf.Prop, 0, len(keys))
	for _, k := range keys {
		val, ok := c.get(obj, k)
		if !ok || skipped(val) {
			continue
		}
		conv, err := c.fromJS(val, depth+1, memo)
		if err != nil {
			return nil, err
		}
		out.Props = append(out.Props, amf.Prop{Key: KeyFromJS(k), Value: conv})
	}
	return out, nil
}

// element converts an array element: a left-out value (function, symbol, throwing getter)
// keeps its slot as undefined.
func (c *Converter) element(obj *goja.Object, key string, depth int, memo map[*goja.Object]any) (any, error) {
	val, ok := c.get(obj, key)
	if !ok || skipped(val) {
		return amf.Undefined{}, nil
	}
	return c.fromJS(val, depth+1, memo)
}

func (c *Converter) arrayFromJS(obj *goja.Object, depth int, memo map[*goja.Object]any) (any, error) {
	tag := c.tagOf(obj)
	if vec, ok := parseVectorMark(tag); ok {
		return c.vectorFromJS(obj, vec, depth, memo)
	}
	out := &amf.Array{ECMA: tag == markECMA}
	memo[obj] = out
	keys := obj.Keys()
	length := obj.Get("length").ToInteger()
	nIdx := 0
	for _, k := range keys {
		if _, ok := isIndex(k); ok {
			nIdx++
		}
	}
	dense := !out.ECMA && length <= int64(2*nIdx+sparseSlack)
	if dense {
		out.Dense = make([]any, length)
		for i := range out.Dense {
			out.Dense[i] = amf.Undefined{}
		}
	}
	for _, k := range keys {
		conv, err := c.element(obj, k, depth, memo)
		if err != nil {
			return nil, err
		}
		if i, ok := isIndex(k); ok && dense && i < length {
			out.Dense[i] = conv
			continue
		}
		out.Assoc = append(out.Assoc, amf.Prop{Key: KeyFromJS(k), Value: conv})
	}
	return out, nil
}

func (c *Converter) vectorFromJS(obj *goja.Object, vec *amf.Vector, depth int, memo map[*goja.Object]any) (any, error) {
	memo[obj] = vec
	length := obj.Get("length").ToInteger()
	if n := int64(len(obj.Keys())); length > 2*n+sparseSlack {
		length = n // a vector has no holes: keep what is there
	}
	vec.Items = make([]any, 0, length)
	for i := int64(0); i < length; i++ {
		conv, err := c.element(obj, strconv.FormatInt(i, 10), depth, memo)
		if err != nil {
			return nil, err
		}
		if vec.Kind != amf.VectorObject {
			f, _ := conv.(float64)
			conv = f
		}
		vec.Items = append(vec.Items, conv)
	}
	return vec, nil
}

// entries lists a Map's or Set's entries through the captured (unpatched) forEach.
func (c *Converter) entries(obj *goja.Object, forEach goja.Callable) ([][2]goja.Value, error) {
	var out [][2]goja.Value
	cb := c.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		out = append(out, [2]goja.Value{call.Argument(1), call.Argument(0)})
		return goja.Undefined()
	})
	_, err := forEach(obj, cb)
	return out, err
}

func (c *Converter) mapFromJS(obj *goja.Object, depth int, memo map[*goja.Object]any) (any, error) {
	tag := c.tagOf(obj)
	if tag == markDict || tag == markWeak {
		return c.dictFromJS(obj, tag == markWeak, depth, memo)
	}
	out := &amf.Object{}
	memo[obj] = out
	ents, err := c.entries(obj, c.mapForEach)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if skipped(e[0]) || skipped(e[1]) {
			continue
		}
		conv, err := c.fromJS(e[1], depth+1, memo)
		if err != nil {
			return nil, err
		}
		out.Set(e[0].String(), conv)
	}
	return out, nil
}

func (c *Converter) dictFromJS(obj *goja.Object, weak bool, depth int, memo map[*goja.Object]any) (any, error) {
	out := &amf.Dictionary{WeakKeys: weak}
	memo[obj] = out
	ents, err := c.entries(obj, c.mapForEach)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if skipped(e[0]) || skipped(e[1]) {
			continue
		}
		k, err := c.fromJS(e[0], depth+1, memo)
		if err != nil {
			return nil, err
		}
		v, err := c.fromJS(e[1], depth+1, memo)
		if err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, amf.DictEntry{Key: k, Value: v})
	}
	return out, nil
}

func (c *Converter) setFromJS(obj *goja.Object, depth int, memo map[*goja.Object]any) (any, error) {
	out := &amf.Array{}
	memo[obj] = out
	ents, err := c.entries(obj, c.setForEach)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		var conv any = amf.Undefined{}
		if !skipped(e[1]) {
			if conv, err = c.fromJS(e[1], depth+1, memo); err != nil {
				return nil, err
			}
		}
		out.Dense = append(out.Dense, conv)
	}
	return out, nil
}
