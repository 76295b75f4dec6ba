package amf

import (
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// u29hex is the hex of appendU29(v), for building hostile messages.
func u29hex(v uint32) string { return hex.EncodeToString(appendU29(nil, v)) }

// TestAllocationBoundedByInput: nested containers that each claim as many elements as there are
// bytes left must not each reserve that much memory: 62 levels would multiply a 2 KiB message
// into megabytes (about 1000 bytes per input byte). What is reserved up front is bounded by the
// message length as a whole, so the cost per input byte is a constant (element size times
// append's growth), whatever the depth. Not parallel: it measures the process's allocations, so
// no other test may run meanwhile.
func TestAllocationBoundedByInput(t *testing.T) {
	const n = 2000
	nulls3, nulls0 := strings.Repeat("01", n), strings.Repeat("05", n)
	cases := []struct {
		name string
		amf3 bool
		hex  string
	}{
		{"amf0 strict arrays", false, strings.Repeat("0a 000007d0", 62) + nulls0},
		{"amf3 dense arrays", true, strings.Repeat("09"+u29hex(n<<1|1)+"01", 62) + nulls3},
		{"amf3 shared traits", true, "0a" + u29hex(n<<4|3) + "01" + nulls3 + strings.Repeat("0a 01", 62) + nulls3},
		{"amf3 object vectors", true, strings.Repeat("10"+u29hex(n<<1|1)+"00 01", 62) + nulls3},
		{"amf3 dictionaries", true, strings.Repeat("11"+u29hex(n/2<<1|1)+"00", 62) + nulls3},
	}
	for _, c := range cases {
		msg := unhex(c.hex)
		var d Decoder
		d.Reset(msg)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		if c.amf3 {
			_, err = d.DecodeAMF3()
		} else {
			_, err = d.DecodeAMF0()
		}
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: decoded a truncated message", c.name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 256*uint64(len(msg)) {
			t.Errorf("%s: %d bytes allocated for a %d-byte message", c.name, got, len(msg))
		}
	}
}

func TestEncodeTypedNilPointers(t *testing.T) {
	t.Parallel()
	for _, v := range []any{(*Object)(nil), (*Array)(nil), (*Vector)(nil), (*Dictionary)(nil)} {
		var e Encoder
		b0, err0 := e.AppendAMF0(nil, v)
		b3, err3 := e.AppendAMF3(nil, v)
		if err0 != nil || err3 != nil || hex.EncodeToString(b0) != "05" || hex.EncodeToString(b3) != "01" {
			t.Errorf("%T: %x %v / %x %v", v, b0, err0, b3, err3)
		}
	}
}

// TestEncodeAMF0LongKeys: AMF0 keys and class names have a u16 length; a longer one (possible in
// a value decoded from AMF3) is an error, never silently cut.
func TestEncodeAMF0LongKeys(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 0x10000)
	for _, v := range []any{
		&Object{Props: []Prop{{long, 1.0}}},
		&Object{Class: long},
		&Array{ECMA: true, Assoc: []Prop{{long, nil}}},
	} {
		var e Encoder
		if _, err := e.AppendAMF0(nil, v); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%T: want an error for a 65536-byte key", v)
		}
		if _, err := e.AppendAMF3(nil, v); err != nil { // AMF3 keys are U29-long
			t.Errorf("%T amf3: %v", v, err)
		}
	}
}

// TestTraitsNoCollision: traits are reused by identity of class and member names; names that
// contain separators must not make two different traits look alike.
func TestTraitsNoCollision(t *testing.T) {
	t.Parallel()
	in := &Array{Dense: []any{
		&Object{Class: "P", Props: []Prop{{"x", 1.0}}},
		&Object{Class: "P\x00x"},
		&Object{Class: "P", Props: []Prop{{"x\x00y", 2.0}}},
		&Object{Class: "P", Props: []Prop{{"x", 3.0}, {"y", 4.0}}},
	}}
	var e Encoder
	b, err := e.AppendAMF3(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	d.Reset(b)
	got, err := d.DecodeAMF3()
	if err != nil || !equalValues(got, in) {
		t.Fatalf("got %#v, %v", got, err)
	}
}

// TestDecodeErrorsAreTyped: every decode failure is a *DecodeError whose offset lies inside the
// input, and whose cause is one of the sentinels.
func TestDecodeErrorsAreTyped(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrTruncated, ErrTooDeep, ErrBadMarker, ErrBadRef, ErrTooLarge, ErrUnsupported}
	for _, c := range hostileCases {
		if c.want == nil {
			continue
		}
		b := unhex(c.hex)
		var d Decoder
		d.Reset(b)
		dec := d.DecodeAMF0
		if c.amf3 {
			dec = d.DecodeAMF3
		}
		_, err := dec()
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(b) {
			t.Errorf("%s: %#v", c.name, err)
			continue
		}
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known || !strings.HasPrefix(err.Error(), "amf: ") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
