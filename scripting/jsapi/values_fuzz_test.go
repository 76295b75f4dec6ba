package jsapi

import (
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
)

// genModel builds a model graph from fuzz bytes: every type the converter keeps exactly, with
// shared nodes and cycles (op 11 refers back to an earlier container).
type genModel struct {
	b          []byte
	containers []any
}

func (g *genModel) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *genModel) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], g.b)
	g.b = g.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

var genRunes = []rune{'a', 'Z', '0', ' ', 'é', 'ü', '中', '😀', '𝄞', '\u00a0', '\uFFFD', 0}

func (g *genModel) str() string {
	n := int(g.byte() % 8)
	r := make([]rune, n)
	for i := range r {
		r[i] = genRunes[int(g.byte())%len(genRunes)]
	}
	return string(r)
}

func (g *genModel) value(depth int) any {
	op := g.byte() % 12
	if depth > 6 && op >= 5 {
		op %= 5
	}
	switch op {
	case 0:
		return nil
	case 1:
		return amf.Undefined{}
	case 2:
		return math.Float64frombits(g.u64())
	case 3:
		return g.str()
	case 4:
		return g.byte()&1 == 1
	case 5:
		return g.object(depth)
	case 6:
		return g.array(depth)
	case 7:
		return amf.Date{Millis: float64(int32(g.u64()))}
	case 8:
		return amf.ByteArray(g.str())
	case 9:
		return g.vector(depth)
	case 10:
		return g.dict(depth)
	default:
		if len(g.containers) == 0 {
			return nil
		}
		return g.containers[int(g.byte())%len(g.containers)]
	}
}

// genProtoKeys are keys the converter renames (see Converter). An object whose flags byte has
// bit 1 set, or an associative array whose count byte has bit 2 set, takes its keys from here,
// starting at the entry named by the byte's upper bits (at most 4 keys, so all distinct).
var genProtoKeys = []string{"__proto__", "constructor", "prototype", "__proto__$", "constructor$$", "prototype$"}

// key is the i-th key of a container: "<prefix><i><str>", or genProtoKeys[start+i] when
// start >= 0.
func (g *genModel) key(prefix string, i, start int) string {
	if start < 0 {
		return prefix + strconv.Itoa(i) + g.str()
	}
	return genProtoKeys[(start+i)%len(genProtoKeys)]
}

// protoStart is key's start for a flags byte: -1 (ordinary keys) unless bit is set.
func protoStart(flags, bit byte) int {
	if flags&bit == 0 {
		return -1
	}
	return int(flags >> 3)
}

func (g *genModel) object(depth int) any {
	o := &amf.Object{}
	flags := g.byte()
	if flags&1 == 1 {
		o.Class = "C" + g.str()
	}
	g.containers = append(g.containers, o)
	for i, n := 0, int(g.byte()%5); i < n; i++ {
		o.Props = append(o.Props, amf.Prop{Key: g.key("k", i, protoStart(flags, 2)), Value: g.value(depth + 1)})
	}
	return o
}

func (g *genModel) array(depth int) any {
	a := &amf.Array{ECMA: g.byte()&1 == 1}
	g.containers = append(g.containers, a)
	if !a.ECMA {
		for i, n := 0, int(g.byte()%5); i < n; i++ {
			a.Dense = append(a.Dense, g.value(depth+1))
		}
	}
	count := g.byte()
	for i, n := 0, int(count%4); i < n; i++ {
		a.Assoc = append(a.Assoc, amf.Prop{Key: g.key("n", i, protoStart(count, 4)), Value: g.value(depth + 1)})
	}
	return a
}

func (g *genModel) vector(depth int) any {
	v := &amf.Vector{Kind: amf.VectorInt + g.byte()%4, Fixed: g.byte()&1 == 1}
	g.containers = append(g.containers, v)
	for i, n := 0, int(g.byte()%4); i < n; i++ {
		if v.Kind == amf.VectorObject {
			v.Items = append(v.Items, g.value(depth+1))
		} else {
			v.Items = append(v.Items, float64(int8(g.byte())))
		}
	}
	return v
}

func (g *genModel) dict(depth int) any {
	d := &amf.Dictionary{WeakKeys: g.byte()&1 == 1}
	g.containers = append(g.containers, d)
	for i, n := 0, int(g.byte()%4); i < n; i++ {
		d.Entries = append(d.Entries, amf.DictEntry{Key: "d" + strconv.Itoa(i), Value: g.value(depth + 1)})
	}
	return d
}

// FuzzRoundTrip checks that any model graph survives AMF → JS → AMF unchanged, and that JS code
// walking the converted value (JSON with a cycle guard) never crashes the process.
func FuzzRoundTrip(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {5, 1, 3, 2, 'a', 'b', 2, 1, 2, 3, 4, 5, 6, 7, 8},
		{6, 0, 3, 2, 0, 0, 0, 3, 1, 11, 0},
		{5, 1, 2, 0, 11, 0, 6, 1, 1, 0, 10, 1},
		{9, 3, 1, 2, 5, 0, 0, 9, 0, 0, 3},
		{10, 0, 3, 8, 3, 1, 2, 7, 1, 2, 3, 4},
		{5, 2, 3, 0, 3, 1, 'x', 1, 5, 2, 1, 4, 1, 2, 3, 1, 0},           // proto keys, nested
		{6, 1, 6, 0, 2, 3, 0, 3, 5, 3, 2, 1, 3, 2, 'x', 'y'},            // ECMA array with proto keys
		{5, 3, 1, 'T', 2, 1, 5, 2, 1, 2, 3, 1, 0, 0, 11, 0, 4, 1, 4, 0}, // typed object, proto keys, a cycle
	} {
		f.Add(seed)
	}
	rt := goja.New()
	c := NewConverter(rt)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &genModel{b: data}
		in := g.value(0)
		js := c.ToJS(in)
		out, err := c.FromJS(js)
		if err != nil {
			t.Fatalf("FromJS: %v", err)
		}
		if !sameModel(out, in) {
			t.Fatalf("round trip:\n got  %#v\n want %#v", out, in)
		}
	})
}
