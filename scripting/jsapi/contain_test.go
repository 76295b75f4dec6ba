package jsapi

import (
	"errors"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// Setup snippets: building these is cheap and interruptible (doubling, a length assignment).
const (
	containMiB    = "var s = 'x'; while (s.length < 1 << 20) s += s;\n"
	containSparse = "var a = []; a.length = 1e8;\n"
)

// containBombs are single built-in calls that, unwrapped, ran far past a 100 ms interrupt or
// allocated hundreds of MiB to GiBs (measured with the probe in TestContainmentBombs).
var containBombs = []struct{ name, src string }{
	{"repeat", "'x'.repeat(1e9)"},
	{"repeat-2e8", "'x'.repeat(2e8)"},
	{"padStart", "'x'.padStart(2e8)"},
	{"padEnd", "'x'.padEnd(2e8, 'ab')"},
	{"padStart-long-fill", containMiB + "s.padStart(1e9, s)"},
	{"split-chars", containMiB + "s = s + s + s + s; s.split('')"},
	{"split-sep", containMiB + "var t = s.replaceAll('x', 'x,'); (t + t + t + t).split(',')"},
	{"string-concat", containMiB + "var b = []; for (var i = 0; i < 200; i++) b.push(s); s.concat.apply(s, b)"},
	{"join-sparse", containSparse + "a.join('xy')"},
	{"new-array-join", "new Array(2e8).join('x')"},
	{"join-big-strings", containMiB + "var b = []; for (var i = 0; i < 300; i++) b.push(s); b.join()"},
	{"toString-big", containMiB + "var b = []; for (var i = 0; i < 300; i++) b.push(s); '' + b"},
	{"array-concat", containSparse + "[].concat(a, a, a)"},
	{"array-from", "Array.from({length: 2e8})"},
	{"array-from-sparse", containSparse + "Array.from(a)"},
	{"fill", "new Array(2e8).fill(0)"},
	{"fill-sparse", containSparse + "a.fill(1)"},
	{"map", containSparse + "a.map(function (x) { return x })"},
	{"slice", containSparse + "a.slice()"},
	{"reverse", containSparse + "a.reverse()"},
	{"sort", containSparse + "a.sort()"},
	{"indexOf", containSparse + "a.indexOf(1)"},
	{"includes", containSparse + "a.includes(1)"},
	{"toSorted", containSparse + "a.toSorted ? a.toSorted() : a.sort()"},
	{"splice", containSparse + "a.splice(0)"},
	{"copyWithin", containSparse + "a.copyWithin(0, 1)"},
	{"keys-iter", containSparse + "Array.from(a.keys())"},
	{"flat-nested", containSparse + "[a].flat(2)"},
	{"flat", containSparse + "a.flat()"},
	{"flatMap", "[1, 2].flatMap(function () { var b = []; b.length = 1e8; return b })"},
	{"apply-huge", "Math.max.apply(null, new Array(1e8))"},
	{"reflect-apply", "Reflect.apply(Math.max, null, new Array(1e8))"},
	{"array-like-generic", "Array.prototype.map.call({length: 1e9}, function () {})"},
	{"json-stringify", containMiB + "var b = []; for (var i = 0; i < 300; i++) b.push(s); JSON.stringify(b)"},
	{"json-stringify-indent", containMiB + "var o = {}; for (var i = 0; i < 300; i++) o['k' + i] = s; JSON.stringify(o, null, 2)"},
	{"json-replacer-fn", containMiB + "JSON.stringify([1, 2, 3], function (k, v) { return k === '' ? v : [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s] })"},
	{"arraybuffer", "new ArrayBuffer(2e9)"},
	{"uint8array", "new Uint8Array(2e9)"},
	{"float64array", "new Float64Array(3e8)"},
	{"typed-from-arraylike", "new Int32Array({length: 1e9})"},
	{"typed-from", "Uint8Array.from({length: 1e9})"},
	{"replace-regexp", containMiB + "s.replace(/x/g, 'yyyyyyyyyyyyyyyyyyyyyyy')"},
	{"replaceAll-string", containMiB + "s.replaceAll('x', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy')"},
	{"replace-dollar", containMiB + "s.replace(/x/g, '$`')"},
	{"replace-fn", containMiB + "s.slice(0, 4096).replace(/x/g, function () { return s })"},
}

// containGrace is how late an interrupt may land (a loaded 2-core CI machine, -race).
const containGrace = 400 * time.Millisecond

func containAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func newContained(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	if err := InstallContainment(rt, 0); err != nil {
		t.Fatalf("InstallContainment: %v", err)
	}
	return rt
}

// Not parallel: it measures process-wide allocation, so it runs while no other test does.
func TestContainmentBombs(t *testing.T) {
	for _, tc := range containBombs {
		rt := newContained(t)
		setup, bomb := "", tc.src
		if i := strings.LastIndexByte(tc.src, '\n'); i >= 0 {
			setup, bomb = tc.src[:i], tc.src[i+1:]
		}
		if _, err := rt.RunString(setup); err != nil {
			t.Fatalf("%s: setup: %v", tc.name, err)
		}
		prg := goja.MustCompile(tc.name+".js", bomb, false)
		watchdog := time.AfterFunc(100*time.Millisecond, func() { rt.Interrupt("budget") })
		before, start := containAllocs(), time.Now()
		_, err := rt.RunProgram(prg)
		elapsed, allocated := time.Since(start), containAllocs()-before
		watchdog.Stop()
		t.Logf("%-22s %8v %5d MiB  %v", tc.name, elapsed.Round(time.Millisecond), allocated>>20, err)
		var ie *goja.InterruptedError
		switch {
		case errors.As(err, &ie) && elapsed < 100*time.Millisecond+containGrace:
			// The wrapper's own checking loop is JS, so the watchdog stops it in time.
		case errors.As(err, &ie):
			t.Errorf("%s: not contained: interrupted after %v", tc.name, elapsed)
		case err == nil:
			t.Errorf("%s: no RangeError", tc.name)
		case !strings.HasPrefix(err.Error(), "RangeError"):
			t.Errorf("%s: error %v, want RangeError", tc.name, err)
		}
		// goja's builders may grow to a few times the 16 MiB cap before a wrapper sees the result.
		if allocated > 96<<20 {
			t.Errorf("%s: allocated %d MiB", tc.name, allocated>>20)
		}
	}
}

func TestRepeatHugeThrowsRangeError(t *testing.T) {
	t.Parallel()
	rt := newContained(t)
	v, err := rt.RunString("try { 'x'.repeat(1e9); 'no throw' } catch (e) { (e instanceof RangeError) + ' ' + e.message }")
	if err != nil || !strings.HasPrefix(v.String(), "true String.prototype.repeat: result too large") {
		t.Fatalf("got %v, %v", v, err)
	}
}

// containSame are expressions whose value (or thrown error name) must not change under
// containment. Each is JSON-encoded by the runtime it ran in.
var containSame = []string{
	"'ab'.repeat(3)", "''.repeat(0)", "'a'.repeat(0)", "String.prototype.repeat.call(12, 2)",
	"'5'.padStart(3, '0')", "'5'.padEnd(4)", "'abc'.padStart(2)", "'a'.padStart(5, '')", "'x'.padEnd(6, 'ab')",
	"'a,b,,c'.split(',')", "'a,b,c'.split(',', 2)", "'abc'.split('')", "'a1b2c'.split(/\\d/)", "'abc'.split()",
	"'abc'.split(undefined, 0)", "'a b'.split(' ', -1)", "'héllo wörld'.split('ö')",
	"'a'.concat('b', 1, null, undefined, [2, 3])", "'x-y-x'.replace('x', '$&$&')", "'x-y-x'.replaceAll('x', 'z')",
	"'aaa'.replace(/a/g, function (m, i) { return i })", "'abc'.replace(/(b)/, '[$1|$`|$\\']')",
	"'a.b.c'.replaceAll('.', '$$')", "[1, [2, [3, [4]]]].flat()", "[1, [2, [3, [4]]]].flat(Infinity)",
	"[1, 2].flatMap(function (x) { return [x, x * 2] })", "[1, 2, 3].join('-')", "[null, undefined, 1].join()",
	"[[1, 2], [3]].join(';')", "String([1, [2, 3]])", "[1, 2].concat([3], 4, [[5]])",
	"Array.from('héllo')", "Array.from({length: 3}, function (v, i) { return i * i })", "Array.from(new Set([1, 1, 2]))",
	"new Array(3).fill(7)", "Array(2, 3)", "[3, 1, 2].sort()", "[1, 2, 3].map(function (x) { return x + 1 })",
	"Array.prototype.map.call('ab', function (c) { return c + c })", "[1, 2, 3].indexOf(2)", "[].concat.call(1, 2)",
	"Math.max.apply(null, [1, 5, 2])", "Reflect.apply(Math.min, null, [4, 2])", "Reflect.construct(Date, [0]).getTime()",
	"Array.from(new Uint8Array([1, 2, 300]))", "new Float64Array(2).length", "Array.from(Uint16Array.from([1, 2]))",
	"new Uint8Array(new ArrayBuffer(8), 2, 3).length", "new ArrayBuffer(5).byteLength", "Array.from(Int8Array.of(1, -1))",
	"new Uint8Array(4) instanceof Uint8Array", "new Uint8Array(2).constructor === Uint8Array", "ArrayBuffer.isView(new Uint8Array(1))",
	"JSON.stringify({a: [1, 'x', {b: null}], c: 'd'})", "JSON.stringify({a: 1, b: [1, 2]}, null, 2)",
	"JSON.stringify({a: 1, b: 2, c: 3}, ['a', 'c'])", "JSON.stringify({a: 1, b: 'x'}, function (k, v) { return typeof v === 'number' ? v * 2 : v })",
	"JSON.stringify({toJSON: function () { return 'tj' }})", "JSON.stringify(undefined)", "JSON.stringify(new Date(0))",
	"[typeof ''.repeat, ''.repeat.name, ''.repeat.length, [].join.name, [].map.length, JSON.stringify.length]",
	"Object.keys(String.prototype).length", "Object.getOwnPropertyDescriptor(Array.prototype, 'map').enumerable",
	"[Array.prototype[Symbol.iterator] === Array.prototype.values, [] instanceof Array, Array.isArray([])]",
	"Array.from([1, 2].entries())", "(function () { var r = []; for (var x of [1, 2]) r.push(x); return r })()",
	"String.prototype.repeat.call(null, 1)", "'x'.repeat(-1)", "'x'.repeat(Infinity)", "Uint8Array(2)",
	"new ArrayBuffer(-1)", "[].join.call(null)", "JSON.stringify(1n)", "'ab'.replaceAll('', '$&-$`-')",
}

func evalJSON(rt *goja.Runtime, src string) string {
	v, err := rt.RunString("(function () { try { return JSON.stringify(" + src + ") } catch (e) { return 'threw ' + e.name } })()")
	if err != nil {
		return "error " + err.Error()
	}
	return v.String()
}

func TestContainmentKeepsSemantics(t *testing.T) {
	t.Parallel()
	plain, contained := goja.New(), newContained(t)
	for _, src := range containSame {
		want, got := evalJSON(plain, src), evalJSON(contained, src)
		if got != want {
			t.Errorf("%s\n got  %s\n want %s", src, got, want)
		}
	}
}

func TestReplaceAllEmptyOnUnicodeReturns(t *testing.T) {
	t.Parallel()
	rt := newContained(t) // unwrapped goja loops for ever on this
	v, err := rt.RunString("'\u00e9a'.replaceAll('', '-')")
	if err != nil || v.String() != "-\u00e9-a-" {
		t.Fatalf("got %q, %v", v, err)
	}
}

func TestContainmentSurvivesGlobalTampering(t *testing.T) {
	t.Parallel()
	rt := newContained(t)
	v, err := rt.RunString(`Reflect.apply = function () { return 'hijacked' }; Math.floor = null; String = null;
try { 'x'.repeat(1e9); 'no throw' } catch (e) { e.name }`)
	if err != nil || v.String() != "RangeError" {
		t.Fatalf("got %v, %v", v, err)
	}
}

// FuzzContainedStrings checks that the string and array wrappers return what the unwrapped
// built-ins return, for arbitrary strings, separators and counts.
func FuzzContainedStrings(f *testing.F) {
	f.Add("abc", ",", 3)
	f.Add("a,b,,c", ",", 2)
	f.Add("héllo wörld", "ö", 7)
	f.Add("", "", 0)
	f.Add("$&$`x", "$'", -1)
	f.Add("\u00e9\U0001F600", "\U0001F600", 5)
	plain, contained := goja.New(), newContained(f)
	f.Fuzz(func(t *testing.T, s, sep string, n int) {
		n %= 64
		_ = plain.Set("s", s)
		_ = plain.Set("sep", sep)
		_ = plain.Set("n", n)
		_ = contained.Set("s", s)
		_ = contained.Set("sep", sep)
		_ = contained.Set("n", n)
		for _, src := range []string{
			"s.repeat(n)", "s.padStart(n, sep)", "s.padEnd(n * 2, sep)", "s.split(sep)", "s.split(sep, n)",
			"s.concat(sep, n)", "s.replace(sep, '[$&]')", "s.split('').join(sep)",
			"[s, [sep, n]].flat(n)", "[s].concat(s.split(sep))", "JSON.stringify({s: s, a: [sep]}, null, sep)",
		} {
			if want, got := evalJSON(plain, src), evalJSON(contained, src); got != want {
				t.Fatalf("%s with s=%q sep=%q n=%d\n got  %s\n want %s", src, s, sep, n, got, want)
			}
		}
		if sep == "" { // unwrapped goja never returns from replaceAll('') on non-ASCII text
			return
		}
		for _, src := range []string{"s.replaceAll(sep, sep + s)", "s.replaceAll(sep, '$&$`')"} {
			if want, got := evalJSON(plain, src), evalJSON(contained, src); got != want {
				t.Fatalf("%s with s=%q sep=%q n=%d\n got  %s\n want %s", src, s, sep, n, got, want)
			}
		}
	})
}

func BenchmarkContainedJoin(b *testing.B) {
	rt := newContained(b)
	prg := goja.MustCompile("b.js", "['a', 'b', 'c', 1, 2].join('-')", false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rt.RunProgram(prg); err != nil {
			b.Fatal(err)
		}
	}
}
