package amfjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/fmsgo/fmsgo/core/amf"
)

// DefaultMaxDepth bounds the nesting of a decoded value, as core/amf's decoders do.
const DefaultMaxDepth = 64

// ErrSyntax wraps every decoding error: the input is not JSON, or not this package's JSON.
var ErrSyntax = errors.New("amfjson: bad value")

// Decode reads one JSON value from b into the AMF value model. b comes from the network: it is
// checked for syntax (encoding/json's tokenizer), nesting (maxDepth, 0 for DefaultMaxDepth),
// escapes and references, and nothing is allocated beyond what b's length allows. Trailing
// bytes other than white space are an error.
func Decode(b []byte, maxDepth int) (any, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(b)), maxDepth: maxDepth}
	v, err := d.value()
	if err == nil {
		if _, extra := d.dec.Token(); extra != io.EOF {
			err = errors.New("data after the value")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return v, nil
}

type decoder struct {
	dec      *json.Decoder
	maxDepth int
	depth    int
	refs     []any // the containers opened so far, for $ref
}

func (d *decoder) value() (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	return d.fromToken(tok)
}

func (d *decoder) fromToken(tok json.Token) (any, error) {
	switch t := tok.(type) {
	case nil, bool, float64, string:
		return t, nil
	case json.Delim:
		if d.depth++; d.depth > d.maxDepth {
			return nil, fmt.Errorf("nesting deeper than %d", d.maxDepth)
		}
		defer func() { d.depth-- }()
		if t == '[' {
			a := &amf.Array{}
			d.refs = append(d.refs, a)
			var err error
			a.Dense, err = d.items()
			return a, err
		}
		if t == '{' {
			return d.object()
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// items reads the values of a list whose '[' was read, through its ']'.
func (d *decoder) items() ([]any, error) {
	var out []any
	for d.dec.More() {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	_, err := d.dec.Token() // ']'
	return out, err
}

// object reads an object whose '{' was read: an escape if its first key starts with "$", else
// a plain object.
func (d *decoder) object() (any, error) {
	if !d.dec.More() {
		o := &amf.Object{}
		d.refs = append(d.refs, o)
		_, err := d.dec.Token()
		return o, err
	}
	key, err := d.key()
	if err != nil {
		return nil, err
	}
	if len(key) > 0 && key[0] == '$' {
		v, err := d.escape(key)
		if err == nil {
			err = d.end(key)
		}
		return v, err
	}
	o := &amf.Object{}
	d.refs = append(d.refs, o)
	return o, d.propsAfter(o, key)
}

func (d *decoder) key() (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("object key %v", tok)
	}
	return k, nil
}

// propsAfter reads a plain object's properties, the first key being read, through its '}'.
func (d *decoder) propsAfter(o *amf.Object, key string) error {
	for {
		if len(key) > 0 && key[0] == '$' {
			return fmt.Errorf("key %q: an object with keys starting with $ is sent as {\"$object\":{...}}", key)
		}
		v, err := d.value()
		if err != nil {
			return err
		}
		o.Props = append(o.Props, amf.Prop{Key: key, Value: v})
		if !d.dec.More() {
			_, err := d.dec.Token() // '}'
			return err
		}
		if key, err = d.key(); err != nil {
			return err
		}
	}
}

// props reads a whole JSON object (any keys) as ordered properties.
func (d *decoder) props() ([]amf.Prop, error) {
	if err := d.open('{', "properties"); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	var out []amf.Prop
	for d.dec.More() {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out = append(out, amf.Prop{Key: k, Value: v})
	}
	_, err := d.dec.Token()
	return out, err
}

// open reads the delimiter want, counting it as a level of nesting.
func (d *decoder) open(want json.Delim, what string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("%s: want %v, got %v", what, want, tok)
	}
	if d.depth++; d.depth > d.maxDepth {
		return fmt.Errorf("nesting deeper than %d", d.maxDepth)
	}
	return nil
}

// end reads the '}' closing an escape: an escape has exactly one key.
func (d *decoder) end(key string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('}') {
		return fmt.Errorf("escape %s: more than one key", key)
	}
	return nil
}

func (d *decoder) str(what string) (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %v", what, tok)
	}
	return s, nil
}

// number reads a JSON number or a $num escape.
func (d *decoder) number(what string) (float64, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return 0, err
	}
	switch t := tok.(type) {
	case float64:
		return t, nil
	case json.Delim:
		if t == '{' {
			if k, err := d.key(); err != nil || k != "$num" {
				return 0, fmt.Errorf("%s: want a number", what)
			}
			f, err := d.special()
			if err == nil {
				err = d.end("$num")
			}
			return f, err
		}
	}
	return 0, fmt.Errorf("%s: want a number, got %v", what, tok)
}

// special reads the value of a $num escape.
func (d *decoder) special() (float64, error) {
	s, err := d.str("$num")
	if err != nil {
		return 0, err
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return 0, fmt.Errorf("$num %q: want NaN, Infinity or -Infinity", s)
}

func (d *decoder) boolean(what string) (bool, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return false, err
	}
	b, ok := tok.(bool)
	if !ok {
		return false, fmt.Errorf("%s: want true or false, got %v", what, tok)
	}
	return b, nil
}

func decodeBase64(s string) (amf.ByteArray, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("$bytes: %w", err)
	}
	return amf.ByteArray(b), nil
}
