// Package jsapi holds the FMS-style objects that app code sees (application, Client,
// SharedObject, Stream) and the conversion of values between AMF and JS.
package jsapi

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
)

// MaxDepth is how many containers deep a value may nest when it crosses between AMF and JS. It
// matches the AMF decoder's cap, so that whatever a client can send, JS can send back.
const MaxDepth = 64

// ErrTooDeep is returned by FromJS for a value nested deeper than MaxDepth: a JS graph may be
// arbitrarily deep (a linked list of a million nodes), and recursing over it would overflow.
var ErrTooDeep = errors.New("value nested deeper than 64 levels")

// Converter translates between the AMF value model (core/amf) and JS values of one runtime. It
// belongs to that runtime and, like it, to one goroutine (the instance loop); it holds the
// application.registerClass registry, which is per instance.
//
// AMF → JS (ToJS):
//
//	nil → null; amf.Undefined and amf.Unsupported → undefined; float64 (and Go ints) → number;
//	string → string; bool → boolean; amf.Date and time.Time → Date (fractions of a millisecond
//	are dropped by Date itself; the AMF0 time-zone field is dropped);
//	*amf.Object → object with the properties in order. A typed object whose class was registered
//	  with RegisterClass becomes Object.create(ctor.prototype) with the properties set, without
//	  calling ctor (Flash deserialisation does the same); an unregistered class name is kept in a
//	  hidden, non-enumerable symbol-keyed property so that the object goes back out with it;
//	*amf.Array → Array: the dense part as elements 0..n-1, then each associative key; a key that
//	  is a canonical array index ("7", not "07") becomes that element, any other key a named
//	  property of the array ("length" is dropped). So an ECMA array with only index keys is an
//	  ordinary array, and one with names (onMetaData) is an array carrying named properties. An
//	  ECMA array is marked (hidden) so that FromJS sends it back as an ECMA array;
//	amf.XMLDocument, amf.XML → string (the document text);
//	amf.ByteArray, []byte → Uint8Array over a copy of the bytes;
//	*amf.Vector → Array (marked, so it goes back out as the same kind of vector);
//	*amf.Dictionary → Map (marked, so it goes back out as a dictionary);
//	[]any → Array, map[string]any → object with sorted keys.
//
// Keys that would reach a prototype: a property key of an object or an ECMA/associative array
// named "__proto__", "constructor" or "prototype", followed by any number of "$", arrives with
// one more "$" ("__proto__" is "__proto__$" in JS, "constructor$" is "constructor$$"); FromJS
// takes one "$" off such keys again, so every AMF value round-trips unchanged. No key that came
// from a peer is then one through which a JS property lookup reaches a prototype, and a
// recursive merge of client data into an app object (dst[k] for each k of src) cannot reach
// Object.prototype. Map keys (AMF3 dictionaries) are not properties and are kept as they are.
//
// A pointer reached twice (a shared node, or a cycle) becomes one JS object reached twice.
// JS orders integer-like keys of any object before the others, ascending; that is the one way
// in which a key order does not survive.
//
// JS → AMF (FromJS) is described on FromJS.
type Converter struct {
	rt      *goja.Runtime
	tag     *goja.Symbol
	classes []classEntry

	objProto   *goja.Object
	dateCtor   *goja.Object
	mapCtor    *goja.Object
	u8Ctor     *goja.Object
	mapSet     goja.Callable
	mapForEach goja.Callable
	setForEach goja.Callable
	isView     goja.Callable
	mapType    reflect.Type // what ExportType says for a Map (its ClassName is "Object")
	setType    reflect.Type

	// Used when the runtime receives a carried graph (Carrier).
	setCtor    *goja.Object
	setAdd     goja.Callable
	regexpCtor *goja.Object
	fnToString goja.Callable

	spareTo   map[any]*goja.Object
	spareFrom map[*goja.Object]any

	// host converts the FMS host objects that have an AMF form of their own (an XML node is an
	// XML document); nil: none.
	host func(*goja.Object) (any, bool)
}

type classEntry struct {
	name string
	ctor *goja.Object
}

// Hidden marks (the value of the Converter's tag symbol) on arrays and maps; on other objects
// the tag is the AMF class name itself.
const (
	markECMA   = "ecma"
	markVector = "vector:"
	markDict   = "dict"
	markWeak   = "dict:weak"
)

var arrayBufferType = reflect.TypeOf(goja.ArrayBuffer{})

// NewConverter captures the built-ins it needs (Date, Map, Uint8Array, ...) from rt. Call it
// before the app's code runs, so that an app replacing a built-in does not change conversion.
func NewConverter(rt *goja.Runtime) *Converter {
	g := rt.GlobalObject()
	c := &Converter{rt: rt, tag: goja.NewSymbol("fmsgo.amfClass")}
	c.objProto = rt.NewObject().Prototype()
	c.dateCtor = g.Get("Date").ToObject(rt)
	c.mapCtor = g.Get("Map").ToObject(rt)
	c.u8Ctor = g.Get("Uint8Array").ToObject(rt)
	c.mapSet = method(c.mapCtor, "set")
	c.mapForEach = method(c.mapCtor, "forEach")
	c.setForEach = method(g.Get("Set").ToObject(rt), "forEach")
	if m, err := rt.New(c.mapCtor); err == nil {
		c.mapType = m.ExportType()
	}
	if s, err := rt.New(g.Get("Set")); err == nil {
		c.setType = s.ExportType()
	}
	c.isView, _ = goja.AssertFunction(g.Get("ArrayBuffer").ToObject(rt).Get("isView"))
	c.setCtor = g.Get("Set").ToObject(rt)
	c.setAdd = method(c.setCtor, "add")
	c.regexpCtor = g.Get("RegExp").ToObject(rt)
	c.fnToString = method(g.Get("Function").ToObject(rt), "toString")
	return c
}

// method returns ctor.prototype[name] as a callable.
func method(ctor *goja.Object, name string) goja.Callable {
	fn, _ := goja.AssertFunction(ctor.Get("prototype").ToObject(nil).Get(name))
	return fn
}

// RegisterClass implements application.registerClass: typed objects arriving with class name
// become instances of ctor (its prototype, constructor not called), and objects whose prototype
// chain reaches ctor.prototype go out with that name. Registering a name again replaces it; a
// nil ctor removes it. Any object is accepted as ctor, as in FMS.
func (c *Converter) RegisterClass(name string, ctor *goja.Object) {
	for i := range c.classes {
		if c.classes[i].name == name {
			if ctor == nil {
				c.classes = append(c.classes[:i], c.classes[i+1:]...)
			} else {
				c.classes[i].ctor = ctor
			}
			return
		}
	}
	if ctor != nil {
		c.classes = append(c.classes, classEntry{name: name, ctor: ctor})
	}
}

// prototypeOf returns ctor.prototype if it is an object; a throwing getter counts as none.
func (c *Converter) prototypeOf(ctor *goja.Object) *goja.Object {
	var p goja.Value
	if c.rt.Try(func() { p = ctor.Get("prototype") }) != nil {
		return nil
	}
	o, _ := p.(*goja.Object)
	return o
}

// classProto returns the prototype registered for an AMF class name, or nil.
func (c *Converter) classProto(name string) *goja.Object {
	for i := range c.classes {
		if c.classes[i].name == name {
			return c.prototypeOf(c.classes[i].ctor)
		}
	}
	return nil
}

// ToJS converts an AMF model value (see Converter) to a JS value of the converter's runtime.
// Containers nested deeper than MaxDepth become null (the AMF decoder never produces them).
func (c *Converter) ToJS(v any) goja.Value {
	memo := c.spareTo
	c.spareTo = nil // a re-entrant call gets its own table
	if memo == nil {
		memo = make(map[any]*goja.Object)
	}
	out := c.toJS(v, 0, memo)
	clear(memo)
	c.spareTo = memo
	return out
}

func (c *Converter) toJS(v any, depth int, memo map[any]*goja.Object) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case amf.Undefined, amf.Unsupported:
		return goja.Undefined()
	case float64, string, bool, int, int32, int64, uint32, float32:
		return c.rt.ToValue(x)
	case amf.Date:
		return c.newDate(x.Millis)
	case time.Time:
		return c.newDate(float64(x.UnixMilli()))
	case amf.XMLDocument:
		return c.rt.ToValue(string(x))
	case amf.XML:
		return c.rt.ToValue(string(x))
	case amf.ByteArray:
		return c.newBytes(x)
	case []byte:
		return c.newBytes(x)
	}
	if depth > MaxDepth {
		return goja.Null()
	}
	switch x := v.(type) {
	case *amf.Object:
		return c.objectToJS(x, depth, memo)
	case *amf.Array:
		return c.arrayToJS(x, depth, memo)
	case *amf.Vector:
		return c.vectorToJS(x, depth, memo)
	case *amf.Dictionary:
		return c.dictToJS(x, depth, memo)
	case []any:
		return c.arrayToJS(&amf.Array{Dense: x}, depth, memo)
	case map[string]any:
		return c.objectToJS(sortedObject(x), depth, memo)
	}
	return c.rt.ToValue(v)
}

// sortedObject turns a Go map into an anonymous object with sorted keys, as the encoder does.
func sortedObject(m map[string]any) *amf.Object {
	o := &amf.Object{Props: make([]amf.Prop, 0, len(m))}
	for k, v := range m {
		o.Props = append(o.Props, amf.Prop{Key: k, Value: v})
	}
	sort.Slice(o.Props, func(i, j int) bool { return o.Props[i].Key < o.Props[j].Key })
	return o
}

func (c *Converter) newDate(ms float64) goja.Value {
	d, err := c.rt.New(c.dateCtor, c.rt.ToValue(ms))
	if err != nil {
		return goja.Undefined()
	}
	return d
}

func (c *Converter) newBytes(b []byte) goja.Value {
	buf := c.rt.NewArrayBuffer(bytes.Clone(b))
	u8, err := c.rt.New(c.u8Ctor, c.rt.ToValue(buf))
	if err != nil {
		return goja.Undefined()
	}
	return u8
}

// define sets an own data property without running setters (a key "__proto__" stays a key).
func define(o *goja.Object, key string, v goja.Value) {
	_ = o.DefineDataProperty(key, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// mark stores a hidden tag: non-enumerable, so JSON, for-in and spread ignore it.
func (c *Converter) mark(o *goja.Object, tag string) {
	_ = o.DefineDataPropertySymbol(c.tag, c.rt.ToValue(tag), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

func (c *Converter) objectToJS(o *amf.Object, depth int, memo map[any]*goja.Object) goja.Value {
	if js, ok := memo[o]; ok {
		return js
	}
	var obj *goja.Object
	if proto := c.classProto(o.Class); o.Class != "" && proto != nil {
		obj = c.rt.CreateObject(proto)
	} else {
		obj = c.rt.NewObject()
		if o.Class != "" {
			c.mark(obj, o.Class)
		}
	}
	memo[o] = obj
	for _, p := range o.Props {
		define(obj, KeyToJS(p.Key), c.toJS(p.Value, depth+1, memo))
	}
	return obj
}

func (c *Converter) arrayToJS(a *amf.Array, depth int, memo map[any]*goja.Object) goja.Value {
	if js, ok := memo[a]; ok {
		return js
	}
	arr := c.rt.NewArray()
	memo[a] = arr
	for i, v := range a.Dense {
		_ = arr.Set(strconv.Itoa(i), c.toJS(v, depth+1, memo))
	}
	for _, p := range a.Assoc {
		if p.Key != "length" {
			define(arr, KeyToJS(p.Key), c.toJS(p.Value, depth+1, memo))
		}
	}
	if a.ECMA {
		c.mark(arr, markECMA)
	}
	return arr
}

func (c *Converter) vectorToJS(v *amf.Vector, depth int, memo map[any]*goja.Object) goja.Value {
	if js, ok := memo[v]; ok {
		return js
	}
	arr := c.rt.NewArray()
	memo[v] = arr
	for i, item := range v.Items {
		_ = arr.Set(strconv.Itoa(i), c.toJS(item, depth+1, memo))
	}
	fixed := 0
	if v.Fixed {
		fixed = 1
	}
	c.mark(arr, fmt.Sprintf("%s%d:%d:%s", markVector, v.Kind, fixed, v.Class))
	return arr
}

// parseVectorMark reads back a mark written by vectorToJS.
func parseVectorMark(tag string) (*amf.Vector, bool) {
	rest, ok := strings.CutPrefix(tag, markVector)
	if !ok {
		return nil, false
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 {
		return nil, false
	}
	kind, err := strconv.ParseUint(parts[0], 10, 8)
	if err != nil || kind < uint64(amf.VectorInt) || kind > uint64(amf.VectorObject) {
		return nil, false
	}
	return &amf.Vector{Kind: byte(kind), Fixed: parts[1] == "1", Class: parts[2]}, true
}

func (c *Converter) dictToJS(d *amf.Dictionary, depth int, memo map[any]*goja.Object) goja.Value {
	if js, ok := memo[d]; ok {
		return js
	}
	m, err := c.rt.New(c.mapCtor)
	if err != nil {
		return goja.Undefined()
	}
	memo[d] = m
	for _, e := range d.Entries {
		_, _ = c.mapSet(m, c.toJS(e.Key, depth+1, memo), c.toJS(e.Value, depth+1, memo))
	}
	if d.WeakKeys {
		c.mark(m, markWeak)
	} else {
		c.mark(m, markDict)
	}
	return m
}

// isIndex reports whether k is a canonical array index ("0", "17"; not "017", "-1", "1.5").
func isIndex(k string) (int64, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil || n >= math.MaxUint32 {
		return 0, false
	}
	return int64(n), true
}
