package jsapi

import (
	"testing"

	"github.com/dop251/goja"
)

// FuzzCarry checks that any value a client can send (a model graph, made JS in the old runtime)
// is carried into a new runtime unchanged: converting the copy back gives the same model, with
// its shared nodes, cycles, class names, vectors, dictionaries and bytes.
func FuzzCarry(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {5, 1, 3, 2, 'a', 'b', 2, 1, 2, 3, 4, 5, 6, 7, 8},
		{6, 0, 3, 2, 0, 0, 0, 3, 1, 11, 0},
		{5, 1, 2, 0, 11, 0, 6, 1, 1, 0, 10, 1},
		{9, 3, 1, 2, 5, 0, 0, 9, 0, 0, 3},
		{10, 0, 3, 8, 3, 1, 2, 7, 1, 2, 3, 4},
		{6, 1, 3, 8, 2, 'x', 'y', 11, 0},
	} {
		f.Add(seed)
	}
	src, dst := goja.New(), goja.New()
	sc, dc := NewConverter(src), NewConverter(dst)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := (&genModel{b: data}).value(0)
		v, ok := NewCarrier(sc, dc, CarryOptions{}).Value(sc.ToJS(in))
		if !ok {
			t.Fatalf("left out: %#v", in)
		}
		out, err := dc.FromJS(v)
		if err != nil {
			t.Fatalf("FromJS: %v", err)
		}
		if !sameModel(out, in) {
			t.Fatalf("carried:\n got  %#v\n want %#v", out, in)
		}
	})
}
