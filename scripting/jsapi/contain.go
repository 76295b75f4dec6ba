package jsapi

import (
	"fmt"
	"sync"

	"github.com/dop251/goja"
)

// DefaultResultCap is the largest result (bytes of an ASCII string, 2 bytes per UTF-16 unit
// otherwise) that one built-in call may build in an app runtime.
const DefaultResultCap = 16 << 20

// Containment of allocation bombs (APP-API.md "Containment"). goja checks interrupts only
// between JS operations, so a single built-in call such as 'x'.repeat(1e9) or
// [].concat(sparse1e8) runs for seconds to minutes past the watchdog and can allocate gigabytes;
// a large enough allocation kills the process with an uncatchable Go "out of memory".
// InstallContainment wraps those built-ins with a per-result cap that throws RangeError instead.
//
// What is capped, and why (each one was found by TestContainmentBombs with a 100 ms interrupt):
//   - String.prototype repeat, padStart, padEnd, concat: result length > cap.
//   - String.prototype split: more than cap/16 pieces (counted first for string separators; the
//     limit argument bounds the work for regexps).
//   - String.prototype replace, replaceAll: result length > cap, from a bound (or, when the bound
//     is too loose, a counting pass in JS, interruptible) for string replacements, and as it
//     grows for functions; more than cap/64 matches is refused too (goja spends a few hundred
//     bytes per match).
//   - Every Array.prototype method except push/pop/at refuses a `this` longer than cap/16
//     elements: goja walks sparse arrays index by index, so `a.length = 1e8; a.map(f)` or
//     `.fill(0)` or `.join()` ran for minutes in Go. concat and flat/flatMap count the elements
//     they would build; join also counts its string result (string elements and separators).
//   - Array.from, Function.prototype.apply, Reflect.apply/construct: an array-like argument
//     longer than cap/16 (goja copies it into a Go slice).
//   - ArrayBuffer, SharedArrayBuffer and every typed-array constructor (with or without new,
//     and their from/of): more than cap bytes.
//   - JSON.stringify: output counted while it is produced (through a replacer that returns
//     values unchanged); an array-replacer (allowlist) call is checked after the fact.
//
// Checked and left alone: new Array(n) / Array(n) (goja makes them sparse: no allocation; the
// length guard above covers what walks them), normalize, replace with a single string match,
// toUpperCase, escape/encodeURIComponent (bounded by their input, which is itself capped).
// Known gaps: RegExp.prototype[Symbol.replace]/[Symbol.split] called directly, spread of a
// huge sparse array ([...a]) and String.raw with a huge raw array are not wrapped.
//
// A call may still allocate a few times the cap transiently (goja's string builders grow before
// a wrapper sees the result); the bombs test bounds it at 96 MiB for the default cap.
//
// Wrappers keep results, `this` handling, name and length of the originals for normal inputs;
// they are strict-mode JS, so their frames may appear in stack traces as "fmsgo:containment".
func InstallContainment(rt *goja.Runtime, capBytes int) error {
	if capBytes <= 0 {
		capBytes = DefaultResultCap
	}
	prg, err := containProgram()
	if err != nil {
		return err
	}
	v, err := rt.RunProgram(prg)
	if err != nil {
		return fmt.Errorf("containment: %w", err)
	}
	fn, ok := goja.AssertFunction(v)
	if !ok {
		return fmt.Errorf("containment: script did not return a function")
	}
	if _, err := fn(goja.Undefined(), rt.ToValue(capBytes), rt.ToValue(capBytes/16)); err != nil {
		return fmt.Errorf("containment: %w", err)
	}
	return nil
}

// containProgram compiles the wrapper script once per process; the *goja.Program is shared by
// every runtime (goja allows running one program in many runtimes).
var containProgram = sync.OnceValues(func() (*goja.Program, error) {
	prg, err := goja.Compile("fmsgo:containment", containJS, true)
	if err != nil {
		return nil, fmt.Errorf("containment: compile: %w", err)
	}
	return prg, nil
})
