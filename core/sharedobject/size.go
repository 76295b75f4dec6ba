package sharedobject

import "github.com/fmsgo/fmsgo/core/amf"

// amf0Size estimates, without encoding, how many bytes v takes as AMF0, and stops counting once
// the total exceeds limit. A value decoded from AMF3 may reference one long string thousands of
// times (two bytes per reference); AMF0 has no string references, so encoding it first to measure
// it could allocate gigabytes. Repeated pointers count as AMF0 references (3 bytes), so cycles end.
func amf0Size(v any, limit int) int {
	w := sizeWalker{limit: limit}
	w.add(v)
	return w.n
}

type sizeWalker struct {
	n, limit int
	seen     map[any]bool
}

func (w *sizeWalker) over() bool { return w.n > w.limit }

// ref reports whether p was already counted (then it costs a 3-byte reference).
func (w *sizeWalker) ref(p any) bool {
	if w.seen == nil {
		w.seen = map[any]bool{}
	}
	if w.seen[p] {
		w.n += 3
		return true
	}
	w.seen[p] = true
	return false
}

func (w *sizeWalker) add(v any) {
	if w.over() {
		return
	}
	switch x := v.(type) {
	case float64, int, int32, int64, uint32, float32:
		w.n += 9
	case bool:
		w.n += 2
	case string:
		w.n += 5 + len(x)
	case amf.Date:
		w.n += 11
	case amf.XMLDocument:
		w.n += 5 + len(x)
	case amf.XML:
		w.n += 7 + len(x)
	case amf.ByteArray:
		w.n += 7 + len(x)
	case *amf.Object:
		if !w.ref(x) {
			w.n += 6 + len(x.Class)
			w.props(x.Props)
		}
	case *amf.Array:
		if !w.ref(x) {
			w.n += 8
			w.items(x.Dense)
			w.props(x.Assoc)
		}
	case *amf.Vector:
		if !w.ref(x) {
			w.n += 8 + len(x.Class)
			w.items(x.Items)
		}
	case *amf.Dictionary:
		if !w.ref(x) {
			w.n += 8
			for _, e := range x.Entries {
				w.add(e.Key)
				w.add(e.Value)
			}
		}
	case []any:
		w.n += 5
		w.items(x)
	case map[string]any:
		w.n += 4
		for k, e := range x {
			w.n += 2 + len(k)
			w.add(e)
		}
	default:
		w.n++
	}
}

func (w *sizeWalker) items(vs []any) {
	for _, e := range vs {
		if w.over() {
			return
		}
		w.n += 8 // an index key when the array is written as an ECMA array
		w.add(e)
	}
}

func (w *sizeWalker) props(ps []amf.Prop) {
	for _, p := range ps {
		if w.over() {
			return
		}
		w.n += 2 + len(p.Key)
		w.add(p.Value)
	}
}
