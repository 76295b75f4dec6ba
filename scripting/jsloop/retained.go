package jsloop

import (
	"reflect"
	"strings"
	"unsafe"

	"github.com/dop251/goja"
)

// The retained-heap estimator. goja has no per-runtime memory accounting and Go's heap is the
// process's, so an instance's retained memory is estimated by walking, with reflection, the Go
// values reachable from its runtimes (and its timers' callbacks and arguments) through goja's
// own types: objects, property maps, arrays, closures' scopes (stashes), strings, typed array
// buffers, Map/Set tables. Shared or host values are not followed: anything of another package
// (a Go object exposed to JS is the host's, bounded by the host) and compiled programs (shared by
// every instance of an app). What is counted is the sizes of the Go values met (a struct's size,
// a slice's capacity, a map's entries, a string's bytes, each backing store once), so the figure
// is an estimate of what the instance keeps alive, not the allocator's exact bytes: it ignores
// allocator rounding and map bucket overhead (under-counts by a small factor), and counts short
// strings at every reference (over-counts an array holding one short string many times).
//
// It reads goja's unexported fields through reflect, read-only and on the loop goroutine (between
// callbacks nothing else touches the runtime): a goja upgrade can change what it counts, not
// whether it runs. Its cost is bounded: at most maxWalkNodes distinct values are visited; past it
// the walk stops and reports a lower bound (complete is false).

// maxWalkNodes bounds one estimate's work (and its visited set, ~40 bytes a node).
const maxWalkNodes = 1 << 19

// dedupeString is the length from which a string's bytes are counted once however many values
// share them (shorter ones are counted at each reference, which saves the visited set).
const dedupeString = 32

const gojaPkg = "github.com/dop251/goja"

var programType = reflect.TypeOf(goja.Program{})

// heapWalk is one estimate in progress; used on the loop goroutine only.
type heapWalk struct {
	seen     map[uintptr]struct{}
	bytes    uint64
	nodes    int
	plans    map[reflect.Type]*typePlan
	depth    int
	deferred []reflect.Value
}

// typePlan is what the walk needs to know of a type, worked out once per estimate.
type typePlan struct {
	ptrs   bool  // values may hold pointers, strings or maps worth following
	follow bool  // the walk enters values of this type (see follow)
	fields []int // struct fields with ptrs
}

// estimateRetained walks roots (goja values, runtimes, timers...) and returns the estimated bytes
// they keep reachable; complete is false when the walk stopped at maxWalkNodes.
func estimateRetained(roots ...any) (bytes uint64, complete bool) {
	w := heapWalk{seen: make(map[uintptr]struct{}, 1024), plans: map[reflect.Type]*typePlan{}}
	for _, r := range roots {
		w.value(reflect.ValueOf(r))
	}
	for len(w.deferred) > 0 && w.nodes < maxWalkNodes {
		v := w.deferred[len(w.deferred)-1]
		w.deferred = w.deferred[:len(w.deferred)-1]
		w.value(v)
	}
	return w.bytes, w.nodes < maxWalkNodes
}

// maxWalkDepth bounds the walk's recursion (a JS linked list is as deep as it is long): values
// met deeper are set aside and walked from the top afterwards.
const maxWalkDepth = 2000

// visit marks p; false when it was already visited or the node budget is spent.
func (w *heapWalk) visit(p uintptr) bool {
	if p == 0 || w.nodes >= maxWalkNodes {
		return false
	}
	if _, ok := w.seen[p]; ok {
		return false
	}
	w.seen[p] = struct{}{}
	w.nodes++
	return true
}

// follow reports whether the walk enters values of type t (the target of a pointer, or the
// dynamic type in an interface).
func follow(t reflect.Type) bool {
	if t == programType {
		return false
	}
	if t.Name() == "" { // unnamed: slices, maps, arrays, pointers built of other types
		return true
	}
	return strings.HasPrefix(t.PkgPath(), gojaPkg) || t.PkgPath() == "" || t.PkgPath() == "math/big"
}

// plan returns t's typePlan, building it on first use.
func (w *heapWalk) plan(t reflect.Type) *typePlan {
	if p, ok := w.plans[t]; ok {
		return p
	}
	p := &typePlan{ptrs: true, follow: follow(t)} // provisional, for recursive types
	w.plans[t] = p
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.String:
	case reflect.Array:
		p.ptrs = t.Len() > 0 && w.plan(t.Elem()).ptrs
	case reflect.Struct:
		p.fields = p.fields[:0]
		for i := 0; i < t.NumField(); i++ {
			if w.plan(t.Field(i).Type).ptrs {
				p.fields = append(p.fields, i)
			}
		}
		p.ptrs = len(p.fields) > 0
	default:
		p.ptrs = false
	}
	return p
}

func (w *heapWalk) value(v reflect.Value) {
	if !v.IsValid() || w.nodes >= maxWalkNodes {
		return
	}
	if w.depth >= maxWalkDepth {
		w.deferred = append(w.deferred, v)
		return
	}
	w.depth++
	w.walk(v)
	w.depth--
}

func (w *heapWalk) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		w.pointer(v)
	case reflect.Interface:
		if !v.IsNil() {
			if e := v.Elem(); w.plan(e.Type()).follow {
				w.value(e)
			}
		}
	case reflect.Struct:
		for _, i := range w.plan(v.Type()).fields {
			w.value(v.Field(i))
		}
	case reflect.Slice:
		w.slice(v)
	case reflect.Array:
		if w.plan(v.Type().Elem()).ptrs {
			for i := 0; i < v.Len(); i++ {
				w.value(v.Index(i))
			}
		}
	case reflect.Map:
		w.mapValue(v)
	case reflect.String:
		w.str(v.String())
	}
}

func (w *heapWalk) pointer(v reflect.Value) {
	if v.IsNil() {
		return
	}
	et := v.Type().Elem()
	if !w.plan(et).follow || !w.visit(v.Pointer()) {
		return
	}
	w.bytes += uint64(et.Size())
	w.value(v.Elem())
}

func (w *heapWalk) slice(v reflect.Value) {
	if v.IsNil() || v.Cap() == 0 || !w.visit(v.Pointer()) {
		return
	}
	et := v.Type().Elem()
	w.bytes += uint64(v.Cap()) * uint64(et.Size())
	if w.plan(et).ptrs {
		for i := 0; i < v.Len() && w.nodes < maxWalkNodes; i++ {
			w.value(v.Index(i))
		}
	}
}

func (w *heapWalk) mapValue(v reflect.Value) {
	if v.IsNil() || !w.visit(v.Pointer()) {
		return
	}
	t := v.Type()
	w.bytes += uint64(v.Len()) * uint64(t.Key().Size()+t.Elem().Size()+1)
	if !w.plan(t.Key()).ptrs && !w.plan(t.Elem()).ptrs {
		return
	}
	it := v.MapRange()
	for it.Next() && w.nodes < maxWalkNodes {
		w.value(it.Key())
		w.value(it.Value())
	}
}

func (w *heapWalk) str(s string) {
	if len(s) == 0 {
		return
	}
	if len(s) >= dedupeString && !w.visit(uintptr(unsafe.Pointer(unsafe.StringData(s)))) {
		return
	}
	w.bytes += uint64(len(s))
}
