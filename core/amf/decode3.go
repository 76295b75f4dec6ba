package amf

import (
	"encoding/binary"
	"math"
	"strconv"
)

// traits is an AMF3 class description, shared by the objects that reference it.
type traits struct {
	class   string
	extern  bool
	dynamic bool
	sealed  []string
}

// u29 reads AMF3's variable-length 29-bit unsigned integer.
func (d *Decoder) u29() (uint32, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		b, err := d.u8()
		if err != nil {
			return 0, err
		}
		if i == 3 {
			return v<<8 | uint32(b), nil
		}
		v = v<<7 | uint32(b&0x7F)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return v, nil
}

// DecodeAMF3 decodes one AMF3 value.
func (d *Decoder) DecodeAMF3() (any, error) {
	m, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch m {
	case 0x00:
		return Undefined{}, nil
	case 0x01:
		return nil, nil
	case 0x02:
		return false, nil
	case 0x03:
		return true, nil
	case 0x04:
		v, err := d.u29()
		if v&0x10000000 != 0 {
			return float64(int32(v) - 0x20000000), err
		}
		return float64(v), err
	case 0x05:
		return d.f64()
	case 0x06:
		return d.string3()
	case 0x07, 0x0B:
		return d.xml3(m)
	case 0x08:
		return d.date3()
	case 0x09:
		return d.array3()
	case 0x0A:
		return d.object3()
	case 0x0C:
		return d.byteArray3()
	case VectorInt, VectorUint, VectorDouble, VectorObject:
		return d.vector3(m)
	case 0x11:
		return d.dictionary3()
	}
	d.off--
	return nil, d.fail(ErrBadMarker, "AMF3 marker 0x"+strconv.FormatUint(uint64(m), 16))
}

// header reads a U29 whose low bit says inline (1) or reference (0); for a reference it
// returns the entry of table.
func (d *Decoder) objRef() (inline bool, n uint32, ref any, err error) {
	h, err := d.u29()
	if err != nil {
		return false, 0, nil, err
	}
	if h&1 == 0 {
		i := int(h >> 1)
		if i >= len(d.objs) {
			return false, 0, nil, d.fail(ErrBadRef, "AMF3 object reference "+strconv.Itoa(i))
		}
		return false, 0, d.objs[i], nil
	}
	return true, h >> 1, nil, nil
}

func (d *Decoder) addObj(v any) (int, error) {
	if len(d.objs) >= maxRefs {
		return 0, d.fail(ErrTooLarge, "too many objects")
	}
	d.objs = append(d.objs, v)
	return len(d.objs) - 1, nil
}

func (d *Decoder) string3() (string, error) {
	h, err := d.u29()
	if err != nil {
		return "", err
	}
	if h&1 == 0 {
		i := int(h >> 1)
		if i >= len(d.strs) {
			return "", d.fail(ErrBadRef, "AMF3 string reference "+strconv.Itoa(i))
		}
		return d.strs[i], nil
	}
	b, err := d.bytesN(int(h >> 1))
	if err != nil {
		return "", err
	}
	s := intern(b)
	if s != "" {
		if len(d.strs) >= maxRefs {
			return "", d.fail(ErrTooLarge, "too many strings")
		}
		d.strs = append(d.strs, s)
	}
	return s, nil
}

func (d *Decoder) xml3(m byte) (any, error) {
	inline, n, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	b, err := d.bytesN(int(n))
	if err != nil {
		return nil, err
	}
	var v any = XML(b)
	if m == 0x07 {
		v = XMLDocument(b)
	}
	_, err = d.addObj(v)
	return v, err
}

func (d *Decoder) date3() (any, error) {
	inline, _, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	ms, err := d.f64()
	if err != nil {
		return nil, err
	}
	v := Date{Millis: ms}
	_, err = d.addObj(v)
	return v, err
}

func (d *Decoder) byteArray3() (any, error) {
	inline, n, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	b, err := d.bytesN(int(n))
	if err != nil {
		return nil, err
	}
	v := make(ByteArray, len(b))
	copy(v, b)
	_, err = d.addObj(v)
	return v, err
}

func (d *Decoder) array3() (any, error) {
	inline, n, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	if int64(n) > int64(d.Len()) {
		return nil, d.fail(ErrTooLarge, "array of "+strconv.FormatUint(uint64(n), 10))
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	a := &Array{}
	if _, err := d.addObj(a); err != nil {
		return nil, err
	}
	for {
		k, err := d.string3()
		if err != nil {
			return nil, err
		}
		if k == "" {
			break
		}
		v, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		a.Assoc = append(a.Assoc, Prop{Key: k, Value: v})
	}
	a.Dense = make([]any, 0, d.prealloc(n))
	for i := uint32(0); i < n; i++ {
		v, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		a.Dense = append(a.Dense, v)
	}
	return a, nil
}

func (d *Decoder) traits3(h uint32) (*traits, error) {
	if h&2 == 0 {
		i := int(h >> 2)
		if i >= len(d.trait) {
			return nil, d.fail(ErrBadRef, "AMF3 traits reference "+strconv.Itoa(i))
		}
		return d.trait[i], nil
	}
	t := &traits{extern: h&4 != 0, dynamic: h&8 != 0}
	n := h >> 4
	if int64(n) > int64(d.Len()) {
		return nil, d.fail(ErrTooLarge, "traits with "+strconv.FormatUint(uint64(n), 10)+" members")
	}
	var err error
	if t.class, err = d.string3(); err != nil {
		return nil, err
	}
	t.sealed = make([]string, 0, n)
	for i := uint32(0); i < n; i++ {
		s, err := d.string3()
		if err != nil {
			return nil, err
		}
		t.sealed = append(t.sealed, s)
	}
	if len(d.trait) >= maxRefs {
		return nil, d.fail(ErrTooLarge, "too many traits")
	}
	d.trait = append(d.trait, t)
	return t, nil
}

func (d *Decoder) object3() (any, error) {
	h, err := d.u29()
	if err != nil {
		return nil, err
	}
	if h&1 == 0 {
		i := int(h >> 1)
		if i >= len(d.objs) {
			return nil, d.fail(ErrBadRef, "AMF3 object reference "+strconv.Itoa(i))
		}
		return d.objs[i], nil
	}
	t, err := d.traits3(h)
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if t.extern {
		return d.externalizable(t)
	}
	o := &Object{Class: t.class}
	if n := len(t.sealed); n > 0 { // traits are shared by reference: never trust their count alone
		o.Props = make([]Prop, 0, d.prealloc(uint32(n)))
	}
	if _, err := d.addObj(o); err != nil {
		return nil, err
	}
	for _, k := range t.sealed {
		v, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		o.Props = append(o.Props, Prop{Key: k, Value: v})
	}
	for t.dynamic {
		k, err := d.string3()
		if err != nil {
			return nil, err
		}
		if k == "" {
			break
		}
		v, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		o.Props = append(o.Props, Prop{Key: k, Value: v})
	}
	return o, nil
}

// externalizable supports the two Flex classes whose body is a single AMF3 value; any other
// externalizable class has a private format we cannot know, so it is refused.
func (d *Decoder) externalizable(t *traits) (any, error) {
	switch t.class {
	case "flex.messaging.io.ArrayCollection", "flex.messaging.io.ObjectProxy":
		idx, err := d.addObj(nil)
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeAMF3()
		d.objs[idx] = v
		return v, err
	}
	return nil, d.fail(ErrUnsupported, "externalizable class "+strconv.Quote(t.class))
}

func (d *Decoder) vector3(m byte) (any, error) {
	inline, n, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	fixed, err := d.u8()
	if err != nil {
		return nil, err
	}
	size := 1
	switch m {
	case VectorInt, VectorUint:
		size = 4
	case VectorDouble:
		size = 8
	}
	if int64(n)*int64(size) > int64(d.Len()) {
		return nil, d.fail(ErrTooLarge, "vector of "+strconv.FormatUint(uint64(n), 10))
	}
	v := &Vector{Kind: m, Fixed: fixed != 0, Items: make([]any, 0, d.prealloc(n))}
	if _, err := d.addObj(v); err != nil {
		return nil, err
	}
	if m == VectorObject {
		if v.Class, err = d.string3(); err != nil {
			return nil, err
		}
		if err := d.enter(); err != nil {
			return nil, err
		}
		defer d.leave()
	}
	for i := uint32(0); i < n; i++ {
		item, err := d.vectorItem(m)
		if err != nil {
			return nil, err
		}
		v.Items = append(v.Items, item)
	}
	return v, nil
}

func (d *Decoder) vectorItem(m byte) (any, error) {
	switch m {
	case VectorInt:
		u, err := d.u32()
		return float64(int32(u)), err
	case VectorUint:
		u, err := d.u32()
		return float64(u), err
	case VectorDouble:
		if err := d.need(8); err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
		d.off += 8
		return f, nil
	}
	return d.DecodeAMF3()
}

func (d *Decoder) dictionary3() (any, error) {
	inline, n, ref, err := d.objRef()
	if err != nil || !inline {
		return ref, err
	}
	weak, err := d.u8()
	if err != nil {
		return nil, err
	}
	if int64(n)*2 > int64(d.Len()) {
		return nil, d.fail(ErrTooLarge, "dictionary of "+strconv.FormatUint(uint64(n), 10))
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	dict := &Dictionary{WeakKeys: weak != 0, Entries: make([]DictEntry, 0, d.prealloc(n))}
	if _, err := d.addObj(dict); err != nil {
		return nil, err
	}
	for i := uint32(0); i < n; i++ {
		k, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeAMF3()
		if err != nil {
			return nil, err
		}
		dict.Entries = append(dict.Entries, DictEntry{Key: k, Value: v})
	}
	return dict, nil
}
