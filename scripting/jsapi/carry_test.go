package jsapi

import (
	"errors"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// carryPair is an old and a new runtime, each with its converter made before its code ran.
type carryPair struct {
	src, dst         *goja.Runtime
	srcConv, dstConv *Converter
}

func newCarryPair(t *testing.T, oldCode, newCode string) *carryPair {
	t.Helper()
	p := &carryPair{src: goja.New(), dst: goja.New()}
	p.srcConv, p.dstConv = NewConverter(p.src), NewConverter(p.dst)
	if _, err := p.src.RunString(oldCode); err != nil {
		t.Fatalf("old code: %v", err)
	}
	if _, err := p.dst.RunString(newCode); err != nil {
		t.Fatalf("new code: %v", err)
	}
	return p
}

// lexical returns the lexical bindings of a script's source in rt.
func lexical(t *testing.T, rt *goja.Runtime, code string) map[string]goja.Value {
	t.Helper()
	tree, err := goja.Parse("x.js", code)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLexical(rt, TopLevelNames(tree))
	if err != nil {
		t.Fatal(err)
	}
	return l.Values()
}

// carry copies the old runtime's global `state` into the new runtime's global `got` and returns
// the result of check run there.
func (p *carryPair) carry(t *testing.T, opts CarryOptions, check string) goja.Value {
	t.Helper()
	c := NewCarrier(p.srcConv, p.dstConv, opts)
	v, ok := c.Value(p.src.Get("state"))
	if !ok {
		v = goja.Undefined()
	}
	if err := p.dst.Set("got", v); err != nil {
		t.Fatal(err)
	}
	out, err := p.dst.RunString(check)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return out
}

func TestCarryGraph(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, old, new, check, want string
	}{
		{"primitives", `var state = {n: 1.5, s: "h\u00e9\ud83d\ude00", b: true, z: null, u: undefined, big: 10n}`, ``,
			`JSON.stringify(got, (k, v) => typeof v === "bigint" ? "big" + v : v) + ("u" in got)`,
			`{"n":1.5,"s":"hé😀","b":true,"z":null,"big":"big10"}true`},
		{"key order", `var state = {b: 1, a: 2, 10: "x", c: {z: 1, y: 2}}`, ``,
			`JSON.stringify(got)`, `{"10":"x","b":1,"a":2,"c":{"z":1,"y":2}}`},
		{"shared and cycle", `var o = {n: 1}; var state = {a: o, b: o, list: [o]}; state.self = state;`, ``,
			`[got.a === got.b, got.list[0] === got.a, got.self === got].join()`, `true,true,true`},
		{"holes and named array keys", `var a = [1, , 3]; a.length = 5; a.tag = "t"; var state = a;`, ``,
			`[got.length, 1 in got, 4 in got, got[2], got.tag, Array.isArray(got)].join()`, `5,false,false,3,t,true`},
		{"huge sparse array", `var state = []; state[1e9] = 1;`, ``, `[got.length, got[1e9]].join()`, `1000000001,1`},
		{"left out", `function f() {} var state = {f: f, s: Symbol("x"), p: Promise.resolve(1), px: new Proxy({}, {}), w: new WeakMap(), arr: [1, f, 3], k: 1}`, ``,
			`Object.keys(got).join() + "|" + got.arr.length + (1 in got.arr)`, `arr,k|3false`},
		{"collections", `var k = {id: 1}; var m = new Map([[k, "v"], ["s", k]]); var state = {m: m, s: new Set([k, 2]), k: k}`, ``,
			`[got.m.get(got.k), got.m.get("s") === got.k, got.s.has(got.k), got.s.size, got.m instanceof Map].join()`, `v,true,true,2,true`},
		{"dates regexps bytes", `var b = new ArrayBuffer(4); var state = {d: new Date(86400000), r: /a+b/gi, u: new Uint8Array(b, 1, 2), v: new Uint8Array(b), dv: new DataView(b)}; state.v[1] = 7;`, ``,
			`[got.d.getTime(), got.r.source, got.r.flags, got.u[0], got.u.buffer === got.v.buffer, got.dv.getUint8(1), got.d instanceof Date].join()`,
			`86400000,a+b,gi,7,true,7,true`},
		{"boxed", `var state = {s: Object("str"), n: Object(2), b: Object(false)}`, ``,
			`[typeof got.s, got.s + "", got.n + 1, got.b.valueOf()].join()`, `object,str,3,false`},
		{"function class", `function Room(n) { this.n = n; } Room.prototype.hi = function () { return "old"; }; var state = {r: new Room("lobby")};`,
			`function Room(n) { throw new Error("constructor must not run"); } Room.prototype.hi = function () { return "new " + this.n; };`,
			`[got.r.hi(), got.r instanceof Room].join()`, `new lobby,true`},
		{"replaced prototype", `function Room(n) { this.n = n; } Room.prototype = {hi: function () { return "old"; }}; var state = new Room("x");`,
			`function Room() {} Room.prototype = {hi: function () { return "new " + this.n; }};`, `got.hi()`, `new x`},
		{"class missing in new code", `function Gone() { this.a = 1; } var state = {g: new Gone(), k: 2};`, ``, `JSON.stringify(got)`, `{"k":2}`},
		{"errors", `var e = new TypeError("bad"); e.extra = 1; var state = e;`, ``,
			`[got instanceof TypeError, got.message, got.extra].join()`, `true,bad,1`},
		{"null prototype", `var state = Object.create(null); state.a = 1;`, ``, `[Object.getPrototypeOf(got), got.a].join()`, `,1`},
		{"throwing getter", `var state = {get bad() { throw new Error("x"); }, ok: 1};`, ``, `JSON.stringify(got)`, `{"ok":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newCarryPair(t, tc.old, tc.new)
			if got := p.carry(t, CarryOptions{}, tc.check).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// An ES class lives in the global lexical scope, not on the global object.
func TestCarryLexicalClass(t *testing.T) {
	t.Parallel()
	oldCode := `class Room { constructor(n) { this.n = n; } hi() { return "old"; } } var state = [new Room("a")];`
	newCode := `class Room { hi() { return "new " + this.n; } }`
	p := newCarryPair(t, oldCode, newCode)
	opts := CarryOptions{SrcLexical: lexical(t, p.src, oldCode), DstLexical: lexical(t, p.dst, newCode)}
	if got := p.carry(t, opts, `got[0].hi() + (got[0] instanceof Room)`).String(); got != "new atrue" {
		t.Fatal(got)
	}
}

// A class registered with registerClass under the same name in both runtimes is found even when
// its constructors are not globals.
func TestCarryRegisteredClass(t *testing.T) {
	t.Parallel()
	p := newCarryPair(t, `var state = (function () { function P() {} P.prototype.v = function () { return "old"; }; return {p: new P()}; })();`,
		`var NewP = (function () { function P() {} P.prototype.v = function () { return "new"; }; return P; })();`)
	oldCtor := p.src.Get("state").(*goja.Object).Get("p").(*goja.Object).Prototype().Get("constructor").(*goja.Object)
	p.srcConv.RegisterClass("Pt", oldCtor)
	p.dstConv.RegisterClass("Pt", p.dst.Get("NewP").(*goja.Object))
	if got := p.carry(t, CarryOptions{}, `got.p.v()`).String(); got != "new" {
		t.Fatal(got)
	}
}

func TestCarryHostAndSkip(t *testing.T) {
	t.Parallel()
	p := newCarryPair(t, `var host = {h: 1}; var state = {a: host, b: host, gone: {g: 1}, t: 7, n: 8};`, `var newHost = {fresh: true};`)
	srcHost := p.src.Get("host").(*goja.Object)
	gone := p.src.Get("state").(*goja.Object).Get("gone").(*goja.Object)
	opts := CarryOptions{
		Host: func(o *goja.Object) (goja.Value, bool) {
			switch o {
			case srcHost:
				return p.dst.Get("newHost"), true
			case gone:
				return nil, true
			}
			return nil, false
		},
		SkipValue: func(v goja.Value) bool { return v.ToInteger() == 7 },
	}
	got := p.carry(t, opts, `[got.a === newHost, got.b === newHost, "gone" in got, "t" in got, got.n].join()`).String()
	if got != "true,true,false,false,8" {
		t.Fatal(got)
	}
}

// A long linked list is copied without recursion.
func TestCarryDeepList(t *testing.T) {
	t.Parallel()
	p := newCarryPair(t, `var state = null; for (var i = 0; i < 100000; i++) state = {i: i, next: state};`, ``)
	check := `var n = 0; for (var x = got; x; x = x.next) n++; n`
	if got := p.carry(t, CarryOptions{}, check).ToInteger(); got != 100000 {
		t.Fatal(got)
	}
}

func TestCarryDeadline(t *testing.T) {
	t.Parallel()
	p := newCarryPair(t, `var state = null; for (var i = 0; i < 5000; i++) state = {next: state};`, ``)
	c := NewCarrier(p.srcConv, p.dstConv, CarryOptions{Deadline: time.Now().Add(-time.Second)})
	if _, ok := c.Value(p.src.Get("state")); ok || !errors.Is(c.Err(), ErrCarryDeadline) {
		t.Fatalf("ok %v, err %v", ok, c.Err())
	}
}

func TestTopLevelNames(t *testing.T) {
	t.Parallel()
	tree, err := goja.Parse("x.js", `let a = 1, {b, c: [d = 2, ...e], ...f} = {}; const g = 1; class H {} var v; function fn() { let inner; }
{ let block; }`)
	if err != nil {
		t.Fatal(err)
	}
	tl := TopLevelNames(tree)
	if got := append(tl.Lets, tl.Fixed...); len(got) != 7 || got[0] != "a" || got[4] != "f" || got[5] != "g" || got[6] != "H" {
		t.Fatalf("%v / %v", tl.Lets, tl.Fixed)
	}
}

func TestLexicalAccessor(t *testing.T) {
	t.Parallel()
	rt := goja.New()
	code := `let count = 1; const K = 2; var v = 3; let n = 4, arguments = 5;`
	if _, err := rt.RunString(code); err != nil {
		t.Fatal(err)
	}
	tree, _ := goja.Parse("x.js", code)
	l, err := NewLexical(rt, TopLevelNames(tree))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := l.Get("count"); !ok || v.ToInteger() != 1 {
		t.Fatalf("get: %v %v", v, ok)
	}
	if v, ok := l.Get("n"); !ok || v.ToInteger() != 4 {
		t.Fatalf("a binding named like the accessor's parameter: %v %v", v, ok)
	}
	if !l.Set("count", rt.ToValue(5)) || l.Set("K", rt.ToValue(9)) || l.Set("v", rt.ToValue(9)) {
		t.Fatal("set must work for lets only")
	}
	if v, _ := rt.RunString(`count + K + v`); v.ToInteger() != 10 {
		t.Fatalf("after set: %v", v)
	}
	if _, ok := l.Get("nope"); ok {
		t.Fatal("unknown name read")
	}
}

func BenchmarkCarry(b *testing.B) {
	src, dst := goja.New(), goja.New()
	sc, dc := NewConverter(src), NewConverter(dst)
	v, _ := src.RunString(`var s = {}; for (var i = 0; i < 100; i++) s["k" + i] = {n: i, list: [1, 2, {x: "y"}]}; s`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := NewCarrier(sc, dc, CarryOptions{}).Value(v); !ok {
			b.Fatal("left out")
		}
	}
}
