package amf

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

type fixture struct {
	name string
	val  any
	hex  string
}

// amf0Fixtures: bytes written from the AMF0 specification; both directions must match exactly.
var amf0Fixtures = []fixture{
	{"number", 1.5, "00 3ff8000000000000"},
	{"true", true, "01 01"},
	{"false", false, "01 00"},
	{"string", "app", "02 0003 617070"},
	{"empty string", "", "02 0000"},
	{"null", nil, "05"},
	{"undefined", Undefined{}, "06"},
	{"unsupported", Unsupported{}, "0d"},
	{"object", &Object{Props: []Prop{{"a", 1.0}, {"b", "x"}}}, "03 0001 61 00 3ff0000000000000 0001 62 02 0001 78 000009"},
	{"empty object", &Object{}, "03 000009"},
	{"typed object", &Object{Class: "Pt", Props: []Prop{{"x", 0.0}}}, "10 0002 5074 0001 78 00 0000000000000000 000009"},
	{"ecma array", &Array{ECMA: true, Assoc: []Prop{{"duration", 0.0}}}, "08 00000001 0008 6475726174696f6e 00 0000000000000000 000009"},
	{"strict array", &Array{Dense: []any{1.0, nil}}, "0a 00000002 00 3ff0000000000000 05"},
	{"date", Date{Millis: 1e12, TimeZone: 0}, "0b 426d1a94a2000000 0000"},
	{"xml document", XMLDocument("<a/>"), "0f 00000004 3c612f3e"},
}

// amf3Fixtures: AMF3 bytes from the AMF3 specification.
var amf3Fixtures = []fixture{
	{"undefined", Undefined{}, "00"},
	{"null", nil, "01"},
	{"false", false, "02"},
	{"true", true, "03"},
	{"int 1", 1.0, "04 01"},
	{"int 128", 128.0, "04 8100"},
	{"int -1", -1.0, "04 ffffffff"},
	{"int max", float64(1<<28 - 1), "04 bfffffff"},
	{"double", 1.5, "05 3ff8000000000000"},
	{"-0 is a double", math.Copysign(0, -1), "05 8000000000000000"},
	{"string", "ab", "06 05 6162"},
	{"empty string", "", "06 01"},
	{"date", Date{Millis: 0}, "08 01 0000000000000000"},
	{"dense array", &Array{Dense: []any{1.0, "ab"}}, "09 05 01 04 01 06 05 6162"},
	{"assoc array", &Array{Assoc: []Prop{{"k", true}}, Dense: []any{}}, "09 01 03 6b 03 01"},
	{"anonymous object", &Object{Props: []Prop{{"a", 1.0}}}, "0a 0b 01 03 61 04 01 01"},
	{"typed object", &Object{Class: "P", Props: []Prop{{"x", 2.0}}}, "0a 13 03 50 03 78 04 02"},
	{"xml", XML("<a/>"), "0b 09 3c612f3e"},
	{"xml doc", XMLDocument("<a/>"), "07 09 3c612f3e"},
	{"byte array", ByteArray{1, 2}, "0c 05 0102"},
	{"int vector", &Vector{Kind: VectorInt, Items: []any{-1.0}}, "0d 03 00 ffffffff"},
	{"double vector", &Vector{Kind: VectorDouble, Fixed: true, Items: []any{1.0}}, "0f 03 01 3ff0000000000000"},
	{"object vector", &Vector{Kind: VectorObject, Class: "", Items: []any{"ab"}}, "10 03 00 01 06 05 6162"},
	{"dictionary", &Dictionary{Entries: []DictEntry{{Key: "k", Value: 1.0}}}, "11 03 00 06 03 6b 04 01"},
}

func TestAMF0Fixtures(t *testing.T) {
	t.Parallel()
	for _, f := range all0() {
		var e Encoder
		got, err := e.AppendAMF0(nil, f.val)
		if err != nil || hex.EncodeToString(got) != hex.EncodeToString(unhex(f.hex)) {
			t.Errorf("%s: encode = %x, %v; want %s", f.name, got, err, f.hex)
		}
		var d Decoder
		d.Reset(unhex(f.hex))
		v, err := d.DecodeAMF0()
		if err != nil || !equalValues(v, f.val) || d.Len() != 0 {
			t.Errorf("%s: decode = %#v, %v (left %d)", f.name, v, err, d.Len())
		}
	}
}

func TestAMF3Fixtures(t *testing.T) {
	t.Parallel()
	for _, f := range all3() {
		var e Encoder
		got, err := e.AppendAMF3(nil, f.val)
		if err != nil || hex.EncodeToString(got) != hex.EncodeToString(unhex(f.hex)) {
			t.Errorf("%s: encode = %x, %v; want %s", f.name, got, err, f.hex)
		}
		var d Decoder
		d.Reset(unhex(f.hex))
		v, err := d.DecodeAMF3()
		if err != nil || d.Len() != 0 || !equalValues(v, f.val) {
			t.Errorf("%s: decode = %#v, %v (left %d)", f.name, v, err, d.Len())
		}
	}
}

// equalValues is DeepEqual that treats -0 and NaN by their bits.
func equalValues(a, b any) bool {
	fa, ok1 := a.(float64)
	fb, ok2 := b.(float64)
	if ok1 && ok2 {
		return math.Float64bits(fa) == math.Float64bits(fb)
	}
	da, ok1 := a.(Date)
	db, ok2 := b.(Date)
	if ok1 && ok2 {
		return math.Float64bits(da.Millis) == math.Float64bits(db.Millis) && da.TimeZone == db.TimeZone
	}
	return reflect.DeepEqual(a, b)
}

// TestLibrtmpFixtures decodes bytes made by python3-librtmp's encoder (testdata/gen_librtmp.py)
// and checks that our encoder writes the same bytes back.
func TestLibrtmpFixtures(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/librtmp_amf0.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		name, hx, _ := strings.Cut(sc.Text(), "\t")
		b := unhex(hx)
		var d Decoder
		d.Reset(b)
		v, err := d.DecodeAMF0()
		if err != nil || d.Len() != 0 {
			t.Errorf("%s: decode: %v (left %d)", name, err, d.Len())
			continue
		}
		var e Encoder
		out, err := e.AppendAMF0(nil, v)
		if err != nil || hex.EncodeToString(out) != hx {
			t.Errorf("%s: re-encode = %x, want %s", name, out, hx)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d librtmp fixtures", n)
	}
}

func TestAMF0SwitchAndSharedTables(t *testing.T) {
	t.Parallel()
	var e Encoder
	b, _ := e.AppendSwitched(nil, "hello")
	b, _ = e.AppendSwitched(b, "hello") // second one is a string-table reference
	if hex.EncodeToString(b) != "11060b68656c6c6f110600" {
		t.Fatalf("got %x", b)
	}
	var d Decoder
	d.Reset(b)
	for i := 0; i < 2; i++ {
		v, err := d.DecodeAMF0()
		if err != nil || v != "hello" {
			t.Fatalf("value %d: %v %v", i, v, err)
		}
	}
}

func TestRoundTripGraphs(t *testing.T) {
	t.Parallel()
	shared := &Object{Props: []Prop{{"k", "v"}}}
	cyclic := &Object{Props: []Prop{{"name", "self"}}}
	cyclic.Props = append(cyclic.Props, Prop{"me", cyclic})
	vals := []any{
		&Object{Props: []Prop{{"a", shared}, {"b", shared}}},
		cyclic,
		&Array{Dense: []any{1.0, "x"}, Assoc: []Prop{{"len", 2.0}}},
		math.NaN(),
		"emoji 😀",
		&Object{Class: "flash.geom.Point", Props: []Prop{{"x", 1.0}, {"y", -2.5}}},
	}
	for i, v := range vals {
		for _, mode := range []string{"amf0", "amf3"} {
			var e Encoder
			var b []byte
			var err error
			if mode == "amf0" {
				b, err = e.AppendAMF0(nil, v)
			} else {
				b, err = e.AppendAMF3(nil, v)
			}
			if err != nil {
				t.Fatalf("%d %s encode: %v", i, mode, err)
			}
			var d Decoder
			d.Reset(b)
			var got any
			if mode == "amf0" {
				got, err = d.DecodeAMF0()
			} else {
				got, err = d.DecodeAMF3()
			}
			if err != nil {
				t.Fatalf("%d %s decode: %v (%x)", i, mode, err, b)
			}
			if f, ok := v.(float64); ok && math.IsNaN(f) {
				if g, _ := got.(float64); !math.IsNaN(g) {
					t.Fatalf("NaN lost: %v", got)
				}
				continue
			}
			if o, ok := got.(*Object); ok && v == any(cyclic) {
				if me, _ := o.Get("me"); me != any(o) {
					t.Fatalf("%s: cycle not preserved", mode)
				}
				continue
			}
			if o, ok := got.(*Object); ok && i == 0 {
				a, _ := o.Get("a")
				bb, _ := o.Get("b")
				if a != bb {
					t.Fatalf("%s: shared reference not preserved", mode)
				}
				continue
			}
			if a, ok := got.(*Array); ok && mode == "amf0" {
				a.ECMA = false // AMF0 has no mixed array: it travels as an ECMA array
				if len(a.Assoc) == 0 {
					a.Assoc = nil
				}
			}
			if !reflect.DeepEqual(got, v) {
				t.Fatalf("%d %s: got %#v want %#v", i, mode, got, v)
			}
		}
	}
}

// hostileCase is an input that must fail with want (nil: must decode) without a panic or a large
// allocation; the cases also seed the fuzz targets.
type hostileCase struct {
	name string
	amf3 bool
	hex  string
	want error
}

var (
	deep0 = strings.Repeat("0a00000001", 10000)
	deep3 = strings.Repeat("0903 01", 10000)
)

var hostileCases = []hostileCase{
	{"strict array 2^31", false, "0a 7fffffff", ErrTooLarge},
	{"strict array 2^32-1", false, "0a ffffffff 05", ErrTooLarge},
	{"ecma count lies", false, "08 ffffffff 000009", nil},
	{"long string 2^32-1", false, "0c ffffffff 61", ErrTooLarge},
	{"xml doc huge", false, "0f 7fffffff", ErrTooLarge},
	{"bad reference", false, "07 0005", ErrBadRef},
	{"reserved 04", false, "04", ErrBadMarker},
	{"reserved 0e", false, "0e", ErrBadMarker},
	{"deep amf0", false, deep0, ErrTooDeep},
	{"deep amf3", true, deep3, ErrTooDeep},
	{"amf3 string ref", true, "06 04", ErrBadRef},
	{"amf3 object ref", true, "0a 02", ErrBadRef},
	{"amf3 traits ref", true, "0a 05", ErrBadRef},
	{"amf3 u29 continuation", true, "04 ffffff", ErrTruncated},
	{"amf3 huge array", true, "09 ffffffff 01", ErrTooLarge},
	{"amf3 huge vector", true, "0d ffffff7f 00", ErrTooLarge},
	{"amf3 huge dict", true, "11 ffffff7f 00", ErrTooLarge},
	{"amf3 externalizable", true, "0a 07 07 466f6f", ErrUnsupported},
	{"amf3 u29 all continuation bits", true, "04 ffffffff", nil},
	{"amf3 huge string", true, "06 ffffffff", ErrTooLarge},
	{"amf3 huge byte array", true, "0c ffffffff", ErrTooLarge},
	{"amf3 huge traits", true, "0a fffffff3", ErrTooLarge},
	{"amf3 huge object vector", true, "10 ffffff7f 00 01", ErrTooLarge},
	{"amf3 double vector short", true, "0f 05 00 3ff0000000000000", ErrTooLarge},
	{"amf3 bad marker in array", true, "09 03 01 14", ErrBadMarker},
	{"amf0 switch then bad ref", false, "11 06 02", ErrBadRef},
	{"amf0 ecma count 2^32-1 truncated", false, "08 ffffffff 0001 61", ErrTruncated},
	{"amf0 object end as value", false, "09", ErrBadMarker},
	{"amf0 reference to itself", false, "03 0001 61 07 0000 000009", nil},
	{"amf0 typed object huge class", false, "10 ffff 61", ErrTooLarge},
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	for _, c := range hostileCases {
		var d Decoder
		d.Reset(unhex(c.hex))
		var err error
		if c.amf3 {
			_, err = d.DecodeAMF3()
		} else {
			_, err = d.DecodeAMF0()
		}
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// TestTruncatedEverywhere decodes every proper prefix of every fixture: an error, never a panic.
func TestTruncatedEverywhere(t *testing.T) {
	t.Parallel()
	check := func(all []fixture, amf3 bool) {
		for _, f := range all {
			b := unhex(f.hex)
			for n := 0; n < len(b); n++ {
				var d Decoder
				d.Reset(b[:n])
				var err error
				if amf3 {
					_, err = d.DecodeAMF3()
				} else {
					_, err = d.DecodeAMF0()
				}
				if err == nil {
					t.Errorf("%s: prefix %d decoded without error", f.name, n)
				}
			}
		}
	}
	check(append(all0(), amf0DecodeOnly...), false)
	check(append(all3(), amf3DecodeOnly...), true)
}

func TestEncodeCycleAndDepth(t *testing.T) {
	t.Parallel()
	a := &Array{}
	a.Dense = []any{a}
	var e Encoder
	if _, err := e.AppendAMF0(nil, a); err != nil {
		t.Fatal(err)
	}
	var deep any = "x"
	for i := 0; i < 1000; i++ {
		deep = []any{deep}
	}
	if _, err := e.AppendAMF3(nil, deep); !errors.Is(err, ErrTooDeep) {
		t.Fatal("want depth error")
	}
}

func seeds(f *testing.F, all []fixture) {
	for _, x := range all {
		f.Add(unhex(x.hex))
	}
}

func seedHostile(f *testing.F, amf3 bool) {
	for _, c := range hostileCases {
		if c.amf3 == amf3 {
			f.Add(unhex(c.hex))
		}
	}
}

// fuzzRoundTrip decodes b and, when that succeeds, re-encodes the value in both formats and
// decodes our own output again: nothing may panic, our own encoding must always decode, and in
// the format it came from it must be a fixed point (encoding what we decoded from our own bytes
// gives the same bytes again).
func fuzzRoundTrip(t *testing.T, b []byte, amf3 bool) {
	var d Decoder
	d.Reset(b)
	dec := d.DecodeAMF0
	if amf3 {
		dec = d.DecodeAMF3
	}
	v, err := dec()
	if err != nil {
		return
	}
	for _, three := range []bool{false, true} {
		var e Encoder
		enc, redec := e.AppendAMF0, d.DecodeAMF0
		if three {
			enc, redec = e.AppendAMF3, d.DecodeAMF3
		}
		out, err := enc(nil, v)
		if err != nil {
			continue // e.g. nesting deeper than the encoder accepts
		}
		d.Reset(out)
		d.MaxDepth = maxEncodeDepth + 2
		v2, err := redec()
		if err != nil {
			t.Fatalf("re-decode (amf3=%v) of our own encoding failed: %v (%x)", three, err, out)
		}
		if d.Len() != 0 {
			t.Fatalf("re-decode (amf3=%v) left %d bytes of %x", three, d.Len(), out)
		}
		if three != amf3 {
			continue
		}
		e.Reset()
		out2, err := enc(nil, v2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not a fixed point (amf3=%v): %x then %x, %v", three, out, out2, err)
		}
	}
}

func FuzzDecodeAMF0(f *testing.F) {
	seeds(f, append(all0(), amf0DecodeOnly...))
	seeds(f, readHexFile(f, "testdata/librtmp_amf0.txt"))
	seedHostile(f, false)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, b, false) })
}

func FuzzDecodeAMF3(f *testing.F) {
	seeds(f, append(all3(), amf3DecodeOnly...))
	seeds(f, readHexFile(f, "testdata/astronautlabs_amf3.txt"))
	seedHostile(f, true)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, b, true) })
}

func BenchmarkDecodeConnectObject(b *testing.B) { benchDecode(b, connectObject(), false) }
func BenchmarkEncodeMetadata(b *testing.B)      { benchEncode(b, metadata(), false) }
