package jsapi

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Carrier copies values of one runtime into another as one graph: the state carry-over of a hot
// reload (APP-API.md "Hot reload", step 2c). Every value copied through one Carrier belongs to one
// graph: an object reached twice becomes one object reached twice, cycles end, key order and array
// holes are kept. An object that stands for something outside the runtime (a Client, a Stream, a
// SharedObject) is not copied but re-pointed by CarryOptions.Host. An instance of a script class
// is re-created with the destination's constructor of the same name (its prototype; the
// constructor is not called), so its methods are the new code's.
//
// What cannot live in the new runtime is left out (a property omitted, an array slot a hole):
// functions, symbols, values SkipValue names (timer ids), promises, proxies, weak collections and
// other built-in machinery, instances of a class the new code does not define, and anything
// whose reading throws. The copy walks a work list instead of recursing, so a long linked list
// cannot exhaust the stack. Like both runtimes, a Carrier belongs to the instance loop.
type Carrier struct {
	src, dst  *Converter
	opts      CarryOptions
	memo      map[*goja.Object]goja.Value // nil: left out
	work      []func()
	ctorNames map[*goja.Object]string // source prototype → its constructor's global name
	dstProtos map[string]*goja.Object
	steps     int
	err       error
}

// CarryOptions connect a Carrier to the host objects and global bindings of both runtimes.
type CarryOptions struct {
	// Host returns the destination object for a source object that stands for a host thing
	// (handled=true; a nil v leaves it out), or handled=false to copy obj by its kind.
	Host func(obj *goja.Object) (v goja.Value, handled bool)
	// SkipValue reports a primitive that must not be carried (a timer id).
	SkipValue func(v goja.Value) bool
	// SrcLexical and DstLexical are the top-level let, const and class bindings of each runtime:
	// with the global object, they are where a class's constructor is found by name.
	SrcLexical, DstLexical map[string]goja.Value
	// Deadline, when set, ends the copy: past it every value is left out and Err reports it
	// (the reload's budget; the watchdog interrupts JS only, not this Go walk).
	Deadline time.Time
}

// ErrCarryDeadline is Carrier.Err once the copy ran past CarryOptions.Deadline.
var ErrCarryDeadline = errors.New("state carry-over ran past its budget")

var proxyType = reflect.TypeOf(goja.Proxy{})

// errorNames are the native constructors whose instances are carried like script classes.
var errorNames = map[string]bool{"Error": true, "TypeError": true, "RangeError": true, "SyntaxError": true,
	"ReferenceError": true, "EvalError": true, "URIError": true}

// NewCarrier prepares a copy from src's runtime into dst's. Both converters must have been made
// before their app's code ran (they hold the untouched built-ins).
func NewCarrier(src, dst *Converter, opts CarryOptions) *Carrier {
	return &Carrier{src: src, dst: dst, opts: opts, memo: map[*goja.Object]goja.Value{},
		dstProtos: map[string]*goja.Object{}}
}

// Value returns v's copy in the destination runtime; ok is false when v is left out.
func (c *Carrier) Value(v goja.Value) (out goja.Value, ok bool) {
	out, ok = c.shell(v)
	for i := 0; i < len(c.work) && c.err == nil; i++ {
		c.work[i]()
	}
	c.work = c.work[:0]
	if c.err != nil {
		return nil, false
	}
	return out, ok
}

// Err reports why the copy stopped (ErrCarryDeadline), or nil.
func (c *Carrier) Err() error { return c.err }

// expired checks the deadline every so many objects.
func (c *Carrier) expired() bool {
	if c.steps++; c.steps%1024 == 0 && !c.opts.Deadline.IsZero() && time.Now().After(c.opts.Deadline) {
		c.err = ErrCarryDeadline
	}
	return c.err != nil
}

// shell returns v's copy, creating an object's copy empty and queueing its filling.
func (c *Carrier) shell(v goja.Value) (goja.Value, bool) {
	if v == nil {
		return nil, false
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		if _, sym := v.(*goja.Symbol); sym || (c.opts.SkipValue != nil && c.opts.SkipValue(v)) {
			return nil, false
		}
		return v, true // primitives belong to no runtime
	}
	if out, seen := c.memo[obj]; seen {
		return out, out != nil
	}
	if c.expired() {
		return nil, false
	}
	var out goja.Value
	if c.src.rt.Try(func() { out = c.make(obj) }) != nil {
		out = nil
	}
	c.memo[obj] = out
	return out, out != nil
}

// make creates obj's copy by kind (nil: left out).
func (c *Carrier) make(obj *goja.Object) goja.Value {
	if _, fn := goja.AssertFunction(obj); fn {
		return nil
	}
	if c.opts.Host != nil {
		if v, handled := c.opts.Host(obj); handled {
			if v == nil || goja.IsUndefined(v) {
				return nil
			}
			return v
		}
	}
	switch obj.ClassName() {
	case "Array":
		return c.filled(obj, c.dst.rt.NewArray(), true)
	case "Date":
		if d, ok := c.dst.newDate(obj.ToFloat()).(*goja.Object); ok {
			return c.filled(obj, d, false)
		}
		return nil
	case "RegExp":
		return c.regexp(obj)
	case "Error":
		return c.instance(obj, true)
	case "String":
		return c.dst.rt.ToValue(obj.String()).ToObject(c.dst.rt)
	case "Number", "Boolean":
		return c.dst.rt.ToValue(obj.Export()).ToObject(c.dst.rt)
	case "Object":
		return c.object(obj)
	}
	return nil // the global object, iterators, generators, other built-in machinery
}

// object copies an object of class "Object": plain, collection, bytes or class instance.
func (c *Carrier) object(obj *goja.Object) goja.Value {
	t := obj.ExportType()
	switch t {
	case proxyType:
		return nil
	case c.src.mapType:
		return c.collection(obj, c.dst.mapCtor, true)
	case c.src.setType:
		return c.collection(obj, c.dst.setCtor, false)
	case arrayBufferType:
		ab, _ := obj.Export().(goja.ArrayBuffer)
		return c.dst.rt.ToValue(c.dst.rt.NewArrayBuffer(bytes.Clone(ab.Bytes())))
	}
	proto := obj.Prototype()
	if proto == nil {
		return c.filled(obj, c.dst.rt.CreateObject(nil), true)
	}
	if proto == c.src.objProto {
		return c.filled(obj, c.dst.rt.NewObject(), true)
	}
	if r, err := c.src.isView(goja.Undefined(), obj); err == nil && r.ToBoolean() {
		return c.view(obj, proto)
	}
	return c.instance(obj, false)
}

// filled queues the copy of obj's own enumerable properties into out (and its hidden AMF mark).
func (c *Carrier) filled(obj, out *goja.Object, mark bool) *goja.Object {
	if mark {
		if tag := c.src.tagOf(obj); tag != "" {
			c.dst.mark(out, tag)
		}
	}
	c.work = append(c.work, func() {
		if obj.ClassName() == "Array" {
			_ = out.Set("length", obj.Get("length")) // first, so holes past the last element stay
		}
		c.fillKeys(obj, out)
	})
	return out
}

// fillKeys defines obj's own enumerable properties on out, in order, leaving out what is left out.
func (c *Carrier) fillKeys(obj, out *goja.Object) {
	var keys []string
	if c.src.rt.Try(func() { keys = obj.Keys() }) != nil {
		return
	}
	for _, k := range keys {
		v, ok := c.src.get(obj, k)
		if !ok {
			continue
		}
		if cv, ok := c.shell(v); ok {
			define(out, k, cv)
		}
	}
}

func (c *Carrier) regexp(obj *goja.Object) goja.Value {
	re, err := c.dst.rt.New(c.dst.regexpCtor, obj.Get("source"), obj.Get("flags"))
	if err != nil {
		return nil
	}
	return c.filled(obj, re, false)
}

// collection copies a Map (isMap) or a Set, entry by entry.
func (c *Carrier) collection(obj, ctor *goja.Object, isMap bool) goja.Value {
	out, err := c.dst.rt.New(ctor)
	if err != nil {
		return nil
	}
	if tag := c.src.tagOf(obj); tag != "" {
		c.dst.mark(out, tag)
	}
	c.work = append(c.work, func() {
		forEach, add := c.src.setForEach, c.dst.setAdd
		if isMap {
			forEach = c.src.mapForEach
		}
		ents, err := c.src.entries(obj, forEach)
		if err != nil {
			return
		}
		for _, e := range ents {
			v, okv := c.shell(e[1])
			if !isMap {
				if okv {
					_, _ = add(out, v)
				}
				continue
			}
			if k, okk := c.shell(e[0]); okk && okv {
				_, _ = c.dst.mapSet(out, k, v)
			}
		}
	})
	return out
}

// view copies a typed array or DataView over the copy of its buffer (views sharing a buffer
// still share it).
func (c *Carrier) view(obj, proto *goja.Object) goja.Value {
	buf, ok := c.shell(obj.Get("buffer"))
	if !ok {
		return nil
	}
	name := proto.Get("constructor").ToObject(c.src.rt).Get("name").String()
	ctor, isObj := c.dst.rt.GlobalObject().Get(name).(*goja.Object)
	if !isObj || !c.native(c.dst, ctor) {
		return nil
	}
	size := "length"
	if name == "DataView" {
		size = "byteLength"
	}
	out, err := c.dst.rt.New(ctor, buf, obj.Get("byteOffset"), obj.Get(size))
	if err != nil {
		return nil
	}
	return out
}

// instance re-creates an instance of a script class (or a native error) with the destination's
// constructor of the same name: its prototype, the own properties copied, the constructor not run.
func (c *Carrier) instance(obj *goja.Object, isError bool) goja.Value {
	proto := obj.Prototype()
	if proto == nil {
		return nil
	}
	dp := c.dstProto(c.ctorName(proto))
	if dp == nil {
		dp = c.registered(proto)
	}
	if dp == nil {
		return nil
	}
	out := c.dst.rt.CreateObject(dp)
	if isError {
		for _, k := range obj.GetOwnPropertyNames() {
			if k == "message" {
				_ = out.DefineDataProperty(k, c.dst.rt.ToValue(obj.Get(k).String()), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
			}
		}
	}
	return c.filled(obj, out, false)
}

// registered finds a class that application.registerClass named in both runtimes (its
// constructor need not be a global).
func (c *Carrier) registered(proto *goja.Object) *goja.Object {
	for i := len(c.src.classes) - 1; i >= 0; i-- {
		if c.src.prototypeOf(c.src.classes[i].ctor) == proto {
			return c.dst.classProto(c.src.classes[i].name)
		}
	}
	return nil
}

// ctorName names the constructor whose prototype proto is: the global binding (global object
// property, or top-level let/const/class) that holds it, else its own `constructor`'s name.
func (c *Carrier) ctorName(proto *goja.Object) string {
	if c.ctorNames == nil {
		c.ctorNames = map[*goja.Object]string{}
		c.scanGlobals()
	}
	if name, ok := c.ctorNames[proto]; ok {
		return name
	}
	name := ""
	if ctor, ok := proto.Get("constructor").(*goja.Object); ok {
		if p := c.ctorProto(c.src, ctor, true); p == proto {
			name = ctor.Get("name").String()
		}
	}
	c.ctorNames[proto] = name
	return name
}

// scanGlobals maps the prototype of every script constructor held by a global binding to the
// binding's name (the first name in order, for a constructor held twice).
func (c *Carrier) scanGlobals() {
	g := c.src.rt.GlobalObject()
	names := g.Keys()
	lex := make([]string, 0, len(c.opts.SrcLexical))
	for k := range c.opts.SrcLexical {
		lex = append(lex, k)
	}
	sort.Strings(lex)
	for _, k := range append(names, lex...) {
		v, ok := c.opts.SrcLexical[k]
		if !ok {
			if v, ok = c.src.get(g, k); !ok {
				continue
			}
		}
		fn, isObj := v.(*goja.Object)
		if !isObj {
			continue
		}
		if p := c.ctorProto(c.src, fn, false); p != nil {
			if _, dup := c.ctorNames[p]; !dup {
				c.ctorNames[p] = k
			}
		}
	}
}

// dstProto returns the prototype of the destination's constructor called name, or nil.
func (c *Carrier) dstProto(name string) *goja.Object {
	if name == "" {
		return nil
	}
	if p, ok := c.dstProtos[name]; ok {
		return p
	}
	v, ok := c.opts.DstLexical[name]
	if !ok {
		v, _ = c.dst.get(c.dst.rt.GlobalObject(), name)
	}
	var p *goja.Object
	if fn, isObj := v.(*goja.Object); isObj {
		p = c.ctorProto(c.dst, fn, errorNames[name])
	}
	c.dstProtos[name] = p
	return p
}

// ctorProto returns fn.prototype when fn is a constructor of script code (a native one only with
// allowNative), or nil.
func (c *Carrier) ctorProto(conv *Converter, fn *goja.Object, allowNative bool) *goja.Object {
	if fn.ClassName() != "Function" {
		return nil
	}
	if c.native(conv, fn) && !allowNative {
		return nil
	}
	p, _ := conv.get(fn, "prototype")
	proto, _ := p.(*goja.Object)
	return proto
}

// native reports whether fn is a built-in or host function (their source text reads so).
func (c *Carrier) native(conv *Converter, fn *goja.Object) bool {
	s, err := conv.fnToString(fn)
	return err != nil || strings.HasSuffix(s.String(), "{ [native code] }")
}
