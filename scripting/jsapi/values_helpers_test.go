package jsapi

import (
	"math"
	"reflect"

	"github.com/fmsgo/fmsgo/core/amf"
)

// sameModel compares two model graphs: NaN equals NaN, -0 differs from +0, and the pointer
// structure (sharing, cycles) must correspond one to one.
func sameModel(a, b any) bool {
	return (&modelCmp{seen: map[any]any{}}).eq(a, b)
}

type modelCmp struct{ seen map[any]any }

// pair reports whether pointers a and b were already matched (true, same) or records them.
func (m *modelCmp) pair(a, b any) (done, ok bool) {
	if prev, found := m.seen[a]; found {
		return true, prev == b
	}
	m.seen[a] = b
	return false, true
}

func (m *modelCmp) eq(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case amf.Date:
		y, ok := b.(amf.Date)
		return ok && m.eq(x.Millis, y.Millis)
	case *amf.Object:
		y, ok := b.(*amf.Object)
		if !ok || x.Class != y.Class || len(x.Props) != len(y.Props) {
			return false
		}
		if done, same := m.pair(x, y); done {
			return same
		}
		for i := range x.Props {
			if x.Props[i].Key != y.Props[i].Key || !m.eq(x.Props[i].Value, y.Props[i].Value) {
				return false
			}
		}
		return true
	case *amf.Array:
		y, ok := b.(*amf.Array)
		if !ok || x.ECMA != y.ECMA || len(x.Dense) != len(y.Dense) || len(x.Assoc) != len(y.Assoc) {
			return false
		}
		if done, same := m.pair(x, y); done {
			return same
		}
		return m.list(x.Dense, y.Dense) && m.eq(&amf.Object{Props: x.Assoc}, &amf.Object{Props: y.Assoc})
	case *amf.Vector:
		y, ok := b.(*amf.Vector)
		if !ok || x.Kind != y.Kind || x.Fixed != y.Fixed || x.Class != y.Class || len(x.Items) != len(y.Items) {
			return false
		}
		if done, same := m.pair(x, y); done {
			return same
		}
		return m.list(x.Items, y.Items)
	case *amf.Dictionary:
		y, ok := b.(*amf.Dictionary)
		if !ok || x.WeakKeys != y.WeakKeys || len(x.Entries) != len(y.Entries) {
			return false
		}
		if done, same := m.pair(x, y); done {
			return same
		}
		for i := range x.Entries {
			if !m.eq(x.Entries[i].Key, y.Entries[i].Key) || !m.eq(x.Entries[i].Value, y.Entries[i].Value) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func (m *modelCmp) list(a, b []any) bool {
	for i := range a {
		if !m.eq(a[i], b[i]) {
			return false
		}
	}
	return true
}
