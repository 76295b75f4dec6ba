package jsapi

import (
	"testing"
)

// decodeCases seed FuzzDecodeVars: what gateways answer, well formed or not.
var decodeCases = []string{
	"a=1&b=hello+world&c=%E2%9C%93", "x=1&y=a+b%21&bad=%zz&empty&=v", "__proto__=x&constructor=y",
	"&&&==&%", "%FF%FE=%00", "a=1&a=2", "k=" + "%41%4", "\x00\xff=\xfe&&=&%%%\x01",
}

func TestDecodeVars(t *testing.T) {
	a := newContainedApp(t)
	o := a.RT.NewObject()
	decodeVars(a.RT, o, decodeCases[1])
	if got := a.encodeVars(o); got != "x=1&y=a%20b%21&bad=%25zz&empty=&=v" {
		t.Errorf("round trip: %q", got)
	}
	p := a.RT.NewObject()
	decodeVars(a.RT, p, "__proto__=x")
	if p.Prototype() != a.RT.NewObject().Prototype() || p.Get("__proto__").String() != "x" {
		t.Errorf("__proto__ from a gateway must be a plain property")
	}
}

// FuzzDecodeVars: any answer decodes without panicking, never changes the object's prototype,
// and what toString writes decodes back to the same variables.
func FuzzDecodeVars(f *testing.F) {
	for _, c := range decodeCases {
		f.Add(c)
	}
	a := newContainedApp(f)
	proto := a.RT.NewObject().Prototype()
	f.Fuzz(func(t *testing.T, src string) {
		o := a.RT.NewObject()
		decodeVars(a.RT, o, src)
		if o.Prototype() != proto {
			t.Fatalf("%q changed the prototype", src)
		}
		enc := a.encodeVars(o)
		o2 := a.RT.NewObject()
		decodeVars(a.RT, o2, enc)
		k1, k2 := o.Keys(), o2.Keys()
		if len(k1) != len(k2) {
			t.Fatalf("%q: keys %q then %q", src, k1, k2)
		}
		for i, k := range k1 {
			if k2[i] != k || o.Get(k).String() != o2.Get(k).String() {
				t.Fatalf("%q: %q=%q came back as %q=%q", src, k, o.Get(k), k2[i], o2.Get(k2[i]))
			}
		}
	})
}
