package jsapi

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
)

func newConv(t testing.TB) (*goja.Runtime, *Converter) {
	t.Helper()
	rt := goja.New()
	return rt, NewConverter(rt)
}

// jsTrue runs src with the global v set to val and fails unless it evaluates to true.
func jsTrue(t *testing.T, rt *goja.Runtime, val goja.Value, src string) {
	t.Helper()
	if err := rt.Set("v", val); err != nil {
		t.Fatal(err)
	}
	res, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if !res.StrictEquals(rt.ToValue(true)) {
		t.Fatalf("%s: got %v", src, res)
	}
}

func run(t *testing.T, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

func fromJS(t *testing.T, c *Converter, v goja.Value) any {
	t.Helper()
	out, err := c.FromJS(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(class string, kv ...any) *amf.Object {
	o := &amf.Object{Class: class}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Props = append(o.Props, amf.Prop{Key: kv[i].(string), Value: kv[i+1]})
	}
	return o
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in, out any // out nil means "same as in"
	}{
		{"null", nil, nil},
		{"undefined", amf.Undefined{}, nil},
		{"unsupported", amf.Unsupported{}, amf.Undefined{}},
		{"number", 42.5, nil},
		{"int", 7, 7.0},
		{"NaN", math.NaN(), nil},
		{"-0", math.Copysign(0, -1), nil},
		{"+Inf", math.Inf(1), nil},
		{"string", "hello", nil},
		{"emoji", "smile 😀 ok ü", nil},
		{"bool", true, nil},
		{"date", amf.Date{Millis: 1700000000123}, nil},
		{"date NaN", amf.Date{Millis: math.NaN()}, nil},
		{"xml", amf.XMLDocument("<a/>"), "<a/>"},
		{"xml3", amf.XML("<b/>"), "<b/>"},
		{"bytes", amf.ByteArray{1, 2, 3}, nil},
		{"object order", obj("", "z", 1.0, "a", "x", "m", nil, "u", amf.Undefined{}), nil},
		{"typed unregistered", obj("com.example.Point", "x", 1.0, "y", 2.0), nil},
		{"nested", obj("", "a", obj("", "b", &amf.Array{Dense: []any{1.0, "two"}})), nil},
		{"proto key", obj("", "__proto__", 5.0), nil},
		{"strict array", &amf.Array{Dense: []any{1.0, nil, amf.Undefined{}, "s"}}, nil},
		{"mixed array", &amf.Array{Dense: []any{1.0}, Assoc: []amf.Prop{{Key: "name", Value: "n"}}}, nil},
		{"ecma named", &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "duration", Value: 3.0}, {Key: "width", Value: 320.0}}}, nil},
		{"ecma index", &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "0", Value: "a"}, {Key: "1", Value: "b"}}}, nil},
		{"assoc index", &amf.Array{Assoc: []amf.Prop{{Key: "0", Value: "a"}, {Key: "2", Value: "c"}}},
			&amf.Array{Dense: []any{"a", amf.Undefined{}, "c"}}},
		{"vector int", &amf.Vector{Kind: amf.VectorInt, Items: []any{1.0, -2.0}}, nil},
		{"vector obj", &amf.Vector{Kind: amf.VectorObject, Fixed: true, Class: "Foo", Items: []any{obj("", "a", 1.0), nil}}, nil},
		{"dictionary", &amf.Dictionary{WeakKeys: true, Entries: []amf.DictEntry{{Key: "k", Value: 1.0}, {Key: 2.0, Value: obj("", "o", true)}}}, nil},
		{"go map", map[string]any{"b": 1, "a": []any{"x"}}, obj("", "a", &amf.Array{Dense: []any{"x"}}, "b", 1.0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c := newConv(t)
			want := tc.out
			if want == nil {
				want = tc.in
			}
			if tc.name == "undefined" {
				want = amf.Undefined{}
			}
			if tc.name == "null" {
				want = nil
			}
			got := fromJS(t, c, c.ToJS(tc.in))
			if !sameModel(got, want) {
				t.Fatalf("round trip:\n got  %#v\n want %#v", got, want)
			}
		})
	}
}

func TestToJSShapes(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	checks := []struct {
		in  any
		src string
	}{
		{nil, "v === null"},
		{amf.Undefined{}, "v === undefined"},
		{math.NaN(), "typeof v === 'number' && v !== v"},
		{math.Copysign(0, -1), "Object.is(v, -0)"},
		{"😀", "v.length === 2 && v.charCodeAt(0) === 0xD83D && v.codePointAt(0) === 0x1F600"},
		{amf.Date{Millis: 86400000}, "v instanceof Date && v.getTime() === 86400000"},
		{amf.ByteArray{9, 8}, "v instanceof Uint8Array && v.length === 2 && v[0] === 9"},
		{obj("", "b", 1.0, "a", 2.0, "c", 3.0), "Object.keys(v).join() === 'b,a,c' && Object.getPrototypeOf(v) === Object.prototype"},
		{obj("Foo", "x", 1.0), "Object.keys(v).join() === 'x' && JSON.stringify(v) === '{\"x\":1}'"},
		{obj("", "__proto__", 1.0), "Object.getPrototypeOf(v) === Object.prototype && Object.getOwnPropertyNames(v).join() === '__proto__$' && v['__proto__$'] === 1"},
		{&amf.Array{Dense: []any{1.0, 2.0}, Assoc: []amf.Prop{{Key: "n", Value: "x"}, {Key: "length", Value: 99.0}}},
			"Array.isArray(v) && v.length === 2 && v.n === 'x' && Object.keys(v).join() === '0,1,n'"},
		{&amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "1", Value: "b"}, {Key: "0", Value: "a"}}}, "Array.isArray(v) && v.join() === 'a,b'"},
		{&amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "duration", Value: 2.0}}}, "Array.isArray(v) && v.length === 0 && v.duration === 2"},
		{&amf.Vector{Kind: amf.VectorDouble, Items: []any{0.5}}, "Array.isArray(v) && v[0] === 0.5"},
		{&amf.Dictionary{Entries: []amf.DictEntry{{Key: 1.0, Value: "one"}}}, "v instanceof Map && v.get(1) === 'one'"},
		{amf.XMLDocument("<x/>"), "v === '<x/>'"},
	}
	for _, ck := range checks {
		jsTrue(t, rt, c.ToJS(ck.in), ck.src)
	}
}

func TestFromJSShapes(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	cases := []struct {
		src  string
		want any
	}{
		{"undefined", amf.Undefined{}},
		{"null", nil},
		{"-0", math.Copysign(0, -1)},
		{"0/0", math.NaN()},
		{"3", 3.0},
		{"'\\ud83d\\ude00'", "😀"},
		{"'a\\ud800b'", "a\uFFFDb"},
		{"'x\\udc00'", "x\uFFFD"},
		{"new String('s')", "s"},
		{"new Number(2)", 2.0},
		{"10n", 10.0},
		{"new Date(5)", amf.Date{Millis: 5}},
		{"new Date(NaN)", amf.Date{Millis: math.NaN()}},
		{"({b: 1, a: function(){}, c: Symbol('s'), d: undefined, e: null})", obj("", "b", 1.0, "d", amf.Undefined{}, "e", nil)},
		{"({get bad() { throw new Error('x') }, ok: 1})", obj("", "ok", 1.0)},
		{"({get g() { return 7 }})", obj("", "g", 7.0)},
		{"var o = {a: 1}; Object.defineProperty(o, 'hidden', {value: 2}); o[Symbol('k')] = 3; o", obj("", "a", 1.0)},
		{"[1, , 3, function(){}]", &amf.Array{Dense: []any{1.0, amf.Undefined{}, 3.0, amf.Undefined{}}}},
		{"var a = [1]; a.name = 'n'; a", &amf.Array{Dense: []any{1.0}, Assoc: []amf.Prop{{Key: "name", Value: "n"}}}},
		{"var a = []; a[1e9] = 1; a", &amf.Array{Assoc: []amf.Prop{{Key: "1000000000", Value: 1.0}}}},
		{"new Map([['k', 1], [2, 'two']])", obj("", "k", 1.0, "2", "two")},
		{"new Set([1, 'a'])", &amf.Array{Dense: []any{1.0, "a"}}},
		{"new Uint8Array([1, 2, 3]).subarray(1)", amf.ByteArray{2, 3}},
		{"new Uint8Array([4, 5]).buffer", amf.ByteArray{4, 5}},
		{"new DataView(new Uint8Array([6, 7, 8]).buffer, 1, 1)", amf.ByteArray{7}},
		{"new Uint16Array([0x0102])", amf.ByteArray{2, 1}},
		{"function C() { this.x = 1 } C.prototype.m = function(){}; new C()", obj("", "x", 1.0)},
		{"var o = Object.create(null); o.z = 1; o", obj("", "z", 1.0)},
		{"(function(){})", amf.Undefined{}},
	}
	for _, tc := range cases {
		got := fromJS(t, c, run(t, rt, tc.src))
		if !sameModel(got, tc.want) {
			t.Errorf("%s:\n got  %#v\n want %#v", tc.src, got, tc.want)
		}
	}
}

func TestRegisterClass(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	ctor := run(t, rt, `function Point() { this.made = true } Point.prototype.len = function () { return Math.hypot(this.x, this.y) }; Point`).ToObject(rt)
	c.RegisterClass("geom.Point", ctor)
	v := c.ToJS(obj("geom.Point", "x", 3.0, "y", 4.0))
	jsTrue(t, rt, v, "v instanceof Point && v.len() === 5 && v.made === undefined && Object.keys(v).join() === 'x,y'")
	if got := fromJS(t, c, v); !sameModel(got, obj("geom.Point", "x", 3.0, "y", 4.0)) {
		t.Fatalf("registered instance back: %#v", got)
	}
	if got := fromJS(t, c, run(t, rt, "var p = new Point(); p.x = 1; p")); !sameModel(got, obj("geom.Point", "made", true, "x", 1.0)) {
		t.Fatalf("constructed instance: %#v", got)
	}
	sub := fromJS(t, c, run(t, rt, "function Sub() {} Sub.prototype = Object.create(Point.prototype); new Sub()"))
	if o, _ := sub.(*amf.Object); o == nil || o.Class != "geom.Point" {
		t.Fatalf("subclass instance: %#v", sub)
	}
	// An unregistered class name survives; a spread copy is anonymous.
	jsTrue(t, rt, c.ToJS(obj("Other", "a", 1.0)), "globalThis.w = v; globalThis.copy = Object.assign({}, v); true")
	if o := fromJS(t, c, run(t, rt, "w")).(*amf.Object); o.Class != "Other" {
		t.Fatalf("unregistered class lost: %#v", o)
	}
	if o := fromJS(t, c, run(t, rt, "copy")).(*amf.Object); o.Class != "" {
		t.Fatalf("copy kept class: %#v", o)
	}
	c.RegisterClass("geom.Point", nil)
	jsTrue(t, rt, c.ToJS(obj("geom.Point")), "!(v instanceof Point)")
}

func TestCyclesAndSharing(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	shared := obj("", "s", 1.0)
	root := obj("", "a", shared, "b", shared)
	root.Props = append(root.Props, amf.Prop{Key: "self", Value: root})
	arr := &amf.Array{}
	arr.Dense = []any{arr, shared}
	root.Props = append(root.Props, amf.Prop{Key: "arr", Value: arr})
	v := c.ToJS(root)
	jsTrue(t, rt, v, "v.a === v.b && v.self === v && v.arr[0] === v.arr && v.arr[1] === v.a")

	back := fromJS(t, c, v).(*amf.Object)
	a, _ := back.Get("a")
	b, _ := back.Get("b")
	self, _ := back.Get("self")
	arrBack, _ := back.Get("arr")
	if a.(*amf.Object) != b.(*amf.Object) || self.(*amf.Object) != back || arrBack.(*amf.Array).Dense[0].(*amf.Array) != arrBack.(*amf.Array) {
		t.Fatal("sharing or cycles not kept as pointers")
	}
	m := fromJS(t, c, run(t, rt, "var m = new Map(); m.set('me', m); m")).(*amf.Object)
	if me, _ := m.Get("me"); me.(*amf.Object) != m {
		t.Fatal("map cycle")
	}
}

func TestTooDeep(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	_, err := c.FromJS(run(t, rt, "var o = {}; for (var i = 0; i < 100000; i++) o = {n: o}; o"))
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.FromJS(run(t, rt, "var o = 1; for (var i = 0; i < 63; i++) o = [o]; o")); err != nil {
		t.Fatalf("63 levels: %v", err)
	}
	deep := any(1.0)
	for i := 0; i < 200; i++ {
		deep = obj("", "n", deep)
	}
	jsTrue(t, rt, c.ToJS(deep), "var d = 0; for (var o = v; o !== null && typeof o === 'object'; o = o.n) d++; d === 65")
}

func TestFromJSErrorsAndHosts(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	_, err := c.FromJS(run(t, rt, "new Proxy({}, {ownKeys() { throw new Error('trap') }})"))
	if err == nil || !strings.Contains(err.Error(), "trap") {
		t.Fatalf("proxy err = %v", err)
	}
	type host struct {
		Name  string
		Count int
	}
	h := rt.ToValue(&host{Name: "c1", Count: 2})
	got := fromJS(t, c, h)
	want := obj("", "Name", "c1", "Count", 2.0)
	if !sameModel(got, want) {
		t.Fatalf("host: %#v", got)
	}
	// A re-entrant FromJS from inside a getter uses its own table.
	if err := rt.Set("conv", func(v goja.Value) bool { _, err := c.FromJS(v); return err == nil }); err != nil {
		t.Fatal(err)
	}
	got = fromJS(t, c, run(t, rt, "({a: 1, get b() { return conv({x: 1}) }})"))
	if !sameModel(got, obj("", "a", 1.0, "b", true)) {
		t.Fatalf("reentrant: %#v", got)
	}
}
