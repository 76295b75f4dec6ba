package amfjson

import (
	"encoding/json"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
)

// escape reads the value of the escape key (its object's only key).
func (d *decoder) escape(key string) (any, error) {
	switch key {
	case "$undefined", "$unsupported":
		if _, err := d.boolean(key); err != nil {
			return nil, err
		}
		if key == "$undefined" {
			return amf.Undefined{}, nil
		}
		return amf.Unsupported{}, nil
	case "$num":
		return d.special()
	case "$date":
		ms, err := d.number(key)
		return amf.Date{Millis: ms}, err
	case "$bytes":
		s, err := d.str(key)
		if err != nil {
			return nil, err
		}
		return decodeBase64(s)
	case "$xml", "$xmldoc":
		s, err := d.str(key)
		if key == "$xml" {
			return amf.XML(s), err
		}
		return amf.XMLDocument(s), err
	case "$ref":
		return d.ref()
	}
	return d.containerEscape(key)
}

// containerEscape reads the escapes that make a container: it is numbered for $ref when its
// escape opens, before its contents, as the encoder numbers it, so that a cycle resolves.
func (d *decoder) containerEscape(key string) (any, error) {
	switch key {
	case "$object":
		o := &amf.Object{}
		d.refs = append(d.refs, o)
		props, err := d.props()
		o.Props = props
		return o, err
	case "$typed":
		o := &amf.Object{}
		d.refs = append(d.refs, o)
		return o, d.fields(key, map[string]func() error{
			"class": func() (err error) { o.Class, err = d.str("$typed class"); return },
			"props": func() (err error) { o.Props, err = d.props(); return },
		})
	case "$array":
		a := &amf.Array{}
		d.refs = append(d.refs, a)
		return a, d.fields(key, map[string]func() error{
			"dense": func() (err error) { a.Dense, err = d.list("$array dense"); return },
			"assoc": func() (err error) { a.Assoc, err = d.props(); return },
			"ecma":  func() (err error) { a.ECMA, err = d.boolean("$array ecma"); return },
		})
	case "$vector":
		return d.vector()
	case "$dict":
		return d.dict()
	}
	return nil, fmt.Errorf("unknown escape %q", key)
}

// ref reads $ref's index: a container opened earlier in this message (possibly still open: a
// cycle).
func (d *decoder) ref() (any, error) {
	f, err := d.number("$ref")
	if err != nil {
		return nil, err
	}
	n := int(f)
	if float64(n) != f || n < 0 || n >= len(d.refs) {
		return nil, fmt.Errorf("$ref %v: no such object (%d so far)", f, len(d.refs))
	}
	return d.refs[n], nil
}

// fields reads the object of a container escape: each key at most once, each known.
func (d *decoder) fields(escape string, read map[string]func() error) error {
	if err := d.open('{', escape); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	seen := map[string]bool{}
	for d.dec.More() {
		k, err := d.key()
		if err != nil {
			return err
		}
		fn, ok := read[k]
		if !ok || seen[k] {
			return fmt.Errorf("%s: unknown or repeated field %q", escape, k)
		}
		seen[k] = true
		if err := fn(); err != nil {
			return err
		}
	}
	_, err := d.dec.Token()
	return err
}

// list reads a JSON array as values.
func (d *decoder) list(what string) ([]any, error) {
	if err := d.open('[', what); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	return d.items()
}

var vectorKindOf = map[string]byte{"int": amf.VectorInt, "uint": amf.VectorUint, "double": amf.VectorDouble, "object": amf.VectorObject}

func (d *decoder) vector() (any, error) {
	v := &amf.Vector{Kind: amf.VectorObject}
	d.refs = append(d.refs, v)
	err := d.fields("$vector", map[string]func() error{
		"kind": func() error {
			s, err := d.str("$vector kind")
			k, ok := vectorKindOf[s]
			if err == nil && !ok {
				err = fmt.Errorf("$vector kind %q: want int, uint, double or object", s)
			}
			v.Kind = k
			return err
		},
		"fixed": func() (err error) { v.Fixed, err = d.boolean("$vector fixed"); return },
		"class": func() (err error) { v.Class, err = d.str("$vector class"); return },
		"items": func() (err error) { v.Items, err = d.list("$vector items"); return },
	})
	if err == nil && v.Kind != amf.VectorObject {
		for _, it := range v.Items {
			if _, ok := it.(float64); !ok {
				return nil, fmt.Errorf("$vector of %s: an item is not a number", vectorKinds[v.Kind])
			}
		}
	}
	return v, err
}

func (d *decoder) dict() (any, error) {
	dc := &amf.Dictionary{}
	d.refs = append(d.refs, dc)
	return dc, d.fields("$dict", map[string]func() error{
		"weak": func() (err error) { dc.WeakKeys, err = d.boolean("$dict weak"); return },
		"entries": func() error {
			if err := d.open('[', "$dict entries"); err != nil {
				return err
			}
			defer func() { d.depth-- }()
			for d.dec.More() {
				e, err := d.pair()
				if err != nil {
					return err
				}
				dc.Entries = append(dc.Entries, e)
			}
			_, err := d.dec.Token()
			return err
		},
	})
}

// pair reads one [key, value] entry of a $dict (not a container of the message: the encoder
// does not number it either).
func (d *decoder) pair() (amf.DictEntry, error) {
	if err := d.open('[', "$dict entry"); err != nil {
		return amf.DictEntry{}, err
	}
	defer func() { d.depth-- }()
	bad := fmt.Errorf("$dict entries: each entry is [key, value]")
	if !d.dec.More() {
		return amf.DictEntry{}, bad
	}
	k, err := d.value()
	if err != nil {
		return amf.DictEntry{}, err
	}
	if !d.dec.More() {
		return amf.DictEntry{}, bad
	}
	v, err := d.value()
	if err != nil {
		return amf.DictEntry{}, err
	}
	if tok, err := d.dec.Token(); err != nil || tok != json.Delim(']') {
		return amf.DictEntry{}, bad
	}
	return amf.DictEntry{Key: k, Value: v}, nil
}
