package jsapi

import "github.com/dop251/goja"

// maxCachedMembers bounds each member cache (only names that were own data properties are
// cached, so the app's own method and object names fill them).
const maxCachedMembers = 1024

// memberCache remembers which keys were own data properties of an object when last checked,
// for the lookups every RPC makes: Object.getOwnPropertyDescriptor, the one exact test for
// "data, not accessor", allocates a descriptor object per call. The cache is exact: a data
// property can only become an accessor through Object.defineProperty, Object.defineProperties
// or Reflect.defineProperty (object literals and classes make new objects), which are wrapped
// to count their calls (callGuard.defines), and any call empties every cache. A cached key is
// still checked to be own (it may have been deleted), and its current value is read with Get,
// which runs no script code on a data property. Go code that defines an accessor on an object
// the guard looks at, after the script started, must call callGuard.changed.
type memberCache[K comparable] struct {
	epoch uint64 // callGuard.defines when keys was last emptied
	keys  map[K]struct{}
}

// memberKey is a (plain object, property) pair walked by a dotted call name.
type memberKey struct {
	obj  *goja.Object
	name string
}

// fresh empties the cache when a define happened since (or it is full) and returns its map.
func (m *memberCache[K]) fresh(defines uint64) map[K]struct{} {
	if m.keys == nil {
		m.keys = map[K]struct{}{}
	}
	if m.epoch != defines || len(m.keys) >= maxCachedMembers {
		clear(m.keys)
		m.epoch = defines
	}
	return m.keys
}

// cachedOwnData is ownData(obj, key) through the cache m, in which k stands for key on obj.
func cachedOwnData[K comparable](g *callGuard, m *memberCache[K], k K, obj *goja.Object, key goja.Value, name string) (goja.Value, bool) {
	keys := m.fresh(g.defines)
	if _, ok := keys[k]; ok {
		if has, err := g.hasOwn(obj, key); err == nil && has.ToBoolean() {
			return obj.Get(name), true // still own, still data: no define since it was checked
		}
		delete(keys, k)
		return nil, false
	}
	v, own := g.ownData(obj, key)
	if own && v != nil {
		keys[k] = struct{}{}
	}
	return v, own
}

// changed invalidates every member cache.
func (g *callGuard) changed() { g.defines++ }

// watchDefines replaces Object.defineProperty, Object.defineProperties and
// Reflect.defineProperty with wrappers (same name and length) that call changed and then the
// original. Call it before the app's code runs, on the guard's final address.
func (g *callGuard) watchDefines(rt *goja.Runtime) {
	objCtor := rt.GlobalObject().Get("Object").ToObject(rt)
	g.hasOwn, _ = goja.AssertFunction(g.objProto.Get("hasOwnProperty"))
	targets := [...]struct {
		holder *goja.Object
		name   string
	}{{objCtor, "defineProperty"}, {objCtor, "defineProperties"}, {rt.GlobalObject().Get("Reflect").ToObject(rt), "defineProperty"}}
	for _, t := range targets {
		orig := t.holder.Get(t.name)
		call, ok := goja.AssertFunction(orig)
		if !ok {
			continue
		}
		w := rt.ToValue(func(fc goja.FunctionCall) goja.Value {
			g.changed()
			v, err := call(fc.This, fc.Arguments...)
			if err != nil {
				panic(err) // the original's exception, rethrown to the caller as it is
			}
			return v
		}).(*goja.Object)
		_ = w.DefineDataProperty("name", rt.ToValue(t.name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		_ = w.DefineDataProperty("length", orig.ToObject(rt).Get("length"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		_ = t.holder.DefineDataProperty(t.name, w, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}
