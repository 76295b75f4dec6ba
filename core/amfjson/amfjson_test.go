package amfjson

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// fixtures are values with the JSON this package writes for them; the JSON also seeds the fuzzer.
var fixtures = []struct {
	name string
	v    any
	json string
}{
	{"null", nil, `null`},
	{"bool", true, `true`},
	{"integer", 42.0, `42`},
	{"fraction", -0.5, `-0.5`},
	{"big", 1e21, `1e+21`},
	{"below 1e21", 123456789012345680000.0, `123456789012345680000`},
	{"tiny", 1.5e-7, `1.5e-07`},
	{"string", "a\"b\\c\n\u2028é\x01", `"a\"b\\c\n\u2028é\u0001"`},
	{"undefined", amf.Undefined{}, `{"$undefined":true}`},
	{"unsupported", amf.Unsupported{}, `{"$unsupported":true}`},
	{"NaN", math.NaN(), `{"$num":"NaN"}`},
	{"infinity", math.Inf(-1), `{"$num":"-Infinity"}`},
	{"date", amf.Date{Millis: 1700000000123}, `{"$date":1700000000123}`},
	{"invalid date", amf.Date{Millis: math.NaN()}, `{"$date":{"$num":"NaN"}}`},
	{"bytes", amf.ByteArray{0, 1, 0xff}, `{"$bytes":"AAH/"}`},
	{"xml", amf.XML("<a x='1'/>"), `{"$xml":"<a x='1'/>"}`},
	{"xml document", amf.XMLDocument("<r><![CDATA[x]]></r>"), `{"$xmldoc":"<r><![CDATA[x]]></r>"}`},
	{"object keeps key order", &amf.Object{Props: []amf.Prop{{Key: "z", Value: 1.0}, {Key: "a", Value: "x"}}}, `{"z":1,"a":"x"}`},
	{"empty object", &amf.Object{}, `{}`},
	{"object with $ keys", &amf.Object{Props: []amf.Prop{{Key: "$id", Value: 1.0}, {Key: "b", Value: nil}}}, `{"$object":{"$id":1,"b":null}}`},
	{"typed object", &amf.Object{Class: "com.example.User", Props: []amf.Prop{{Key: "name", Value: "bob"}}},
		`{"$typed":{"class":"com.example.User","props":{"name":"bob"}}}`},
	{"dense array", &amf.Array{Dense: []any{1.0, "two", nil}}, `[1,"two",null]`},
	{"mixed array", &amf.Array{Dense: []any{1.0}, Assoc: []amf.Prop{{Key: "5", Value: "sparse"}, {Key: "k", Value: true}}},
		`{"$array":{"dense":[1],"assoc":{"5":"sparse","k":true},"ecma":false}}`},
	{"ECMA array", &amf.Array{Assoc: []amf.Prop{{Key: "duration", Value: 3.0}}, ECMA: true},
		`{"$array":{"dense":[],"assoc":{"duration":3},"ecma":true}}`},
	{"int vector", &amf.Vector{Kind: amf.VectorInt, Fixed: true, Items: []any{1.0, -2.0}},
		`{"$vector":{"kind":"int","fixed":true,"class":"","items":[1,-2]}}`},
	{"object vector", &amf.Vector{Kind: amf.VectorObject, Class: "Point", Items: []any{&amf.Object{}}},
		`{"$vector":{"kind":"object","fixed":false,"class":"Point","items":[{}]}}`},
	{"dictionary", &amf.Dictionary{WeakKeys: true, Entries: []amf.DictEntry{{Key: 1.0, Value: "one"}, {Key: &amf.Object{}, Value: nil}}},
		`{"$dict":{"weak":true,"entries":[[1,"one"],[{},null]]}}`},
	{"nested", &amf.Object{Props: []amf.Prop{{Key: "list", Value: &amf.Array{Dense: []any{&amf.Object{Props: []amf.Prop{{Key: "when", Value: amf.Date{Millis: 1}}}}}}}}},
		`{"list":[{"when":{"$date":1}}]}`},
}

func TestFixturesBothWays(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			b, err := Append(nil, f.v)
			if err != nil || string(b) != f.json {
				t.Fatalf("encoded %s, %v; want %s", b, err, f.json)
			}
			v, err := Decode(b, 0)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if !sameValue(v, f.v) {
				t.Fatalf("decoded %#v, want %#v", v, f.v)
			}
		})
	}
}

// sameValue is reflect.DeepEqual with NaN equal to NaN.
func sameValue(a, b any) bool {
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && (fa == fb || math.IsNaN(fa) && math.IsNaN(fb))
	}
	if da, ok := a.(amf.Date); ok {
		db, ok := b.(amf.Date)
		return ok && sameValue(da.Millis, db.Millis)
	}
	return reflect.DeepEqual(a, b)
}

// TestSharedAndCyclicGraphs: a node met twice is written once and referred to by $ref, and the
// decoder gives back one node, cycles included.
func TestSharedAndCyclicGraphs(t *testing.T) {
	shared := &amf.Object{Props: []amf.Prop{{Key: "n", Value: 1.0}}}
	root := &amf.Object{Props: []amf.Prop{{Key: "a", Value: shared}, {Key: "b", Value: shared}}}
	root.Props = append(root.Props, amf.Prop{Key: "self", Value: root})
	b, err := Append(nil, root)
	if err != nil || string(b) != `{"a":{"n":1},"b":{"$ref":1},"self":{"$ref":0}}` {
		t.Fatalf("encoded %s %v", b, err)
	}
	v, err := Decode(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*amf.Object)
	a, _ := o.Get("a")
	bb, _ := o.Get("b")
	self, _ := o.Get("self")
	if a != bb || self != any(o) {
		t.Fatalf("shared %p %p, self %p root %p", a, bb, self, o)
	}
	// a cycle through an escape: a typed object holding itself
	if _, err := Decode([]byte(`{"$typed":{"class":"T","props":{"me":{"$ref":0}}}}`), 0); err != nil {
		t.Fatal(err)
	}
}

// TestHostileInput: what a browser (or anyone with a socket) may send gets a clear error.
func TestHostileInput(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "EOF"},
		{`{"a":`, "EOF"},
		{`[1,]`, "invalid"},
		{`1 2`, "data after"},
		{strings.Repeat(`[`, 65) + strings.Repeat(`]`, 65), "nesting deeper"},
		{strings.Repeat(`{"$object":`, 70) + `{}` + strings.Repeat(`}`, 70), "nesting deeper"},
		{`{"$ref":0}`, "no such object"},
		{`[{"$ref":1}]`, "no such object"},
		{`[{"$ref":0.5}]`, "no such object"},
		{`{"$nope":1}`, "unknown escape"},
		{`{"$date":1,"x":2}`, "more than one key"},
		{`{"a":1,"$b":2}`, "$object"},
		{`{"$num":"nan"}`, "want NaN"},
		{`{"$bytes":"@@"}`, "$bytes"},
		{`{"$typed":{"class":"T","class":"U"}}`, "repeated field"},
		{`{"$vector":{"kind":"int","items":["x"]}}`, "not a number"},
		{`{"$vector":{"kind":"float"}}`, "want int"},
		{`{"$dict":{"entries":[[1]]}}`, "[key, value]"},
		{`{"$dict":{"entries":[[1,2,3]]}}`, "[key, value]"},
		{`{"$array":{"dense":{}}}`, "want ["},
		{`{"$undefined":"yes"}`, "true or false"},
	} {
		_, err := Decode([]byte(c.in), 0)
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: %v, want an error naming %q", c.in, err, c.want)
		}
	}
}

func TestUnencodable(t *testing.T) {
	if _, err := Append(nil, struct{}{}); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("a Go struct: %v", err)
	}
	deep := &amf.Object{}
	for i, o := 0, deep; i < 70; i++ {
		next := &amf.Object{}
		o.Props = []amf.Prop{{Key: "x", Value: next}}
		o = next
	}
	if _, err := Append(nil, deep); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Fatalf("70 levels: %v", err)
	}
}

// FuzzDecode: any input decodes or fails cleanly, and what decodes encodes and decodes again to
// the same JSON.
func FuzzDecode(f *testing.F) {
	for _, x := range fixtures {
		f.Add([]byte(x.json))
	}
	f.Add([]byte(`{"a":{"n":1},"b":{"$ref":1},"self":{"$ref":0}}`))
	f.Add([]byte(`{"$dict":{"entries":[[{"$ref":0},1]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b, 0)
		if err != nil {
			return
		}
		out, err := Append(nil, v)
		if err != nil {
			if strings.Contains(err.Error(), "nesting") {
				return // a shared node is written where it is met first, which may be deeper
			}
			t.Fatalf("re-encode of %q: %v", b, err)
		}
		v2, err := Decode(out, 0)
		if err != nil {
			t.Fatalf("decode of our own %q (from %q): %v", out, b, err)
		}
		out2, _ := Append(nil, v2)
		if string(out2) != string(out) {
			t.Fatalf("not stable: %q then %q", out, out2)
		}
	})
}
