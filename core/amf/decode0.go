package amf

import (
	"encoding/binary"
	"math"
	"strconv"
)

// DefaultMaxDepth caps nesting of objects and arrays: deep enough for any real message, shallow
// enough that a hostile one cannot exhaust the stack.
const DefaultMaxDepth = 64

// maxRefs caps reference tables so that a message of tiny values cannot grow them unboundedly
// (each entry costs at least one input byte anyway; this is a second line).
const maxRefs = 1 << 20

// Decoder decodes one message's worth of AMF values. Reset starts a new message: AMF0 references
// and the AMF3 reference tables span the whole message, across 0x11-switched values (Red5, PyAMF).
type Decoder struct {
	MaxDepth int

	b     []byte
	off   int
	depth int
	// budget is how many more elements may be reserved up front in this message (see prealloc).
	budget int
	refs0  []any // AMF0 objects, typed objects, ECMA and strict arrays seen so far
	strs   []string
	objs   []any
	trait  []*traits
}

// Reset points the decoder at a new message and clears every reference table (also dropping
// the previous message's values, so that a long-lived decoder does not keep them alive).
func (d *Decoder) Reset(b []byte) {
	d.b, d.off, d.depth, d.budget = b, 0, 0, len(b)
	clear(d.refs0)
	clear(d.strs)
	clear(d.objs)
	clear(d.trait)
	d.refs0 = d.refs0[:0]
	d.strs = d.strs[:0]
	d.objs = d.objs[:0]
	d.trait = d.trait[:0]
}

// prealloc is the capacity to reserve for n declared elements. Each count is checked against
// the bytes left, but nested containers are allocated before their elements are read, so a
// message of L bytes nesting 64 arrays that each claim L elements could reserve 64*16*L bytes.
// In a well-formed message each element starts at a byte of its own, so the counts of the whole
// message add up to at most its length: reserve from that budget, and once a hostile message has
// spent it let slices grow only as elements really arrive.
func (d *Decoder) prealloc(n uint32) int {
	k := int(min(int64(n), int64(d.budget)))
	d.budget -= k
	return k
}

// Len is the number of bytes not yet consumed.
func (d *Decoder) Len() int { return len(d.b) - d.off }

// Offset is the number of bytes consumed.
func (d *Decoder) Offset() int { return d.off }

func (d *Decoder) fail(err error, detail string) error {
	return &DecodeError{Offset: d.off, Err: err, Detail: detail}
}

func (d *Decoder) need(n int) error {
	if n < 0 || d.Len() < n {
		return d.fail(ErrTruncated, "need "+strconv.Itoa(n)+" bytes")
	}
	return nil
}

func (d *Decoder) u8() (byte, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	v := d.b[d.off]
	d.off++
	return v, nil
}

func (d *Decoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

func (d *Decoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

func (d *Decoder) f64() (float64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v, nil
}

func (d *Decoder) bytesN(n int) ([]byte, error) {
	if n < 0 || n > d.Len() {
		return nil, d.fail(ErrTooLarge, "length "+strconv.Itoa(n))
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v, nil
}

// String0 reads a plain AMF0 UTF-8 string (u16 length, no marker), as used for object keys and
// shared-object names.
func (d *Decoder) String0() (string, error) {
	n, err := d.u16()
	if err != nil {
		return "", err
	}
	b, err := d.bytesN(int(n))
	return intern(b), err
}

func (d *Decoder) enter() error {
	max := d.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if d.depth >= max {
		return d.fail(ErrTooDeep, "")
	}
	d.depth++
	return nil
}

func (d *Decoder) leave() { d.depth-- }

// DecodeAMF0 decodes one AMF0 value; an AVM+ switch (0x11) yields one AMF3 value.
func (d *Decoder) DecodeAMF0() (any, error) {
	m, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch m {
	case 0x00:
		return d.f64()
	case 0x01:
		b, err := d.u8()
		return b != 0, err
	case 0x02:
		return d.String0()
	case 0x03:
		return d.object0("")
	case 0x05:
		return nil, nil
	case 0x06:
		return Undefined{}, nil
	case 0x07:
		return d.ref0()
	case 0x08:
		return d.ecmaArray0()
	case 0x0A:
		return d.strictArray0()
	case 0x0B:
		return d.date0()
	case 0x0C:
		return d.longString0()
	case 0x0D:
		return Unsupported{}, nil
	case 0x0F:
		s, err := d.longString0()
		return XMLDocument(s), err
	case 0x10:
		name, err := d.String0()
		if err != nil {
			return nil, err
		}
		return d.object0(name)
	case 0x11:
		return d.DecodeAMF3()
	}
	d.off--
	switch m {
	case 0x04:
		return nil, d.fail(ErrBadMarker, "AMF0 movieclip (0x04) is reserved and not supported")
	case 0x0E:
		return nil, d.fail(ErrBadMarker, "AMF0 recordset (0x0e) is reserved and not supported")
	}
	return nil, d.fail(ErrBadMarker, "AMF0 marker 0x"+strconv.FormatUint(uint64(m), 16))
}

func (d *Decoder) longString0() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	b, err := d.bytesN(int(int64(n)))
	return string(b), err
}

func (d *Decoder) date0() (any, error) {
	ms, err := d.f64()
	if err != nil {
		return nil, err
	}
	tz, err := d.u16()
	return Date{Millis: ms, TimeZone: int16(tz)}, err
}

func (d *Decoder) ref0() (any, error) {
	i, err := d.u16()
	if err != nil {
		return nil, err
	}
	if int(i) >= len(d.refs0) {
		return nil, d.fail(ErrBadRef, "AMF0 reference "+strconv.Itoa(int(i)))
	}
	return d.refs0[i], nil
}

func (d *Decoder) addRef0(v any) error {
	if len(d.refs0) >= maxRefs {
		return d.fail(ErrTooLarge, "too many objects")
	}
	d.refs0 = append(d.refs0, v)
	return nil
}

// props0 reads key/value pairs until the empty key followed by the object-end marker.
func (d *Decoder) props0(dst []Prop) ([]Prop, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	for {
		k, err := d.String0()
		if err != nil {
			return nil, err
		}
		if k == "" {
			if err := d.need(1); err != nil {
				return nil, err
			}
			if d.b[d.off] == 0x09 {
				d.off++
				return dst, nil
			}
		}
		v, err := d.DecodeAMF0()
		if err != nil {
			return nil, err
		}
		dst = append(dst, Prop{Key: k, Value: v})
	}
}

func (d *Decoder) object0(class string) (any, error) {
	o := &Object{Class: class}
	if err := d.addRef0(o); err != nil {
		return nil, err
	}
	props, err := d.props0(nil)
	o.Props = props
	return o, err
}

func (d *Decoder) ecmaArray0() (any, error) {
	if _, err := d.u32(); err != nil { // a count hint only: never trusted
		return nil, err
	}
	a := &Array{ECMA: true}
	if err := d.addRef0(a); err != nil {
		return nil, err
	}
	props, err := d.props0(nil)
	a.Dense, a.Assoc = splitIndexKeys(props)
	return a, err
}

// splitIndexKeys moves leading "0", "1", ... keys of an ECMA array into its dense part, so that
// an array with both parts survives an AMF0 round trip (it is written that way by AppendAMF0).
func splitIndexKeys(props []Prop) ([]any, []Prop) {
	n := 0
	for n < len(props) && props[n].Key == itoa(n) {
		n++
	}
	if n == 0 {
		return nil, props
	}
	dense := make([]any, n)
	for i := range dense {
		dense[i] = props[i].Value
	}
	return dense, props[n:]
}

func (d *Decoder) strictArray0() (any, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if int64(n) > int64(d.Len()) { // every element takes at least one byte
		return nil, d.fail(ErrTooLarge, "strict array of "+strconv.FormatUint(uint64(n), 10))
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	a := &Array{Dense: make([]any, 0, d.prealloc(n))}
	if err := d.addRef0(a); err != nil {
		return nil, err
	}
	for i := uint32(0); i < n; i++ {
		v, err := d.DecodeAMF0()
		if err != nil {
			return nil, err
		}
		a.Dense = append(a.Dense, v)
	}
	return a, nil
}
