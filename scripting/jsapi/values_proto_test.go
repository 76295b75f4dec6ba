package jsapi

import (
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// TestProtoKeysRenamed: the renaming rule of Converter, both ways, is a bijection on AMF keys.
func TestProtoKeysRenamed(t *testing.T) {
	t.Parallel()
	cases := []struct{ amf, js string }{
		{"__proto__", "__proto__$"}, {"constructor", "constructor$"}, {"prototype", "prototype$"},
		{"__proto__$", "__proto__$$"}, {"constructor$$", "constructor$$$"}, {"prototype$", "prototype$$"},
		{"proto", "proto"}, {"__proto", "__proto"}, {"constructors", "constructors"}, {"$constructor", "$constructor"},
		{"x$", "x$"}, {"", ""}, {"$", "$"}, {"prototype$x", "prototype$x"}, {"Constructor", "Constructor"},
	}
	for _, tc := range cases {
		if got := KeyToJS(tc.amf); got != tc.js {
			t.Errorf("KeyToJS(%q) = %q, want %q", tc.amf, got, tc.js)
		}
		if got := KeyFromJS(tc.js); got != tc.amf {
			t.Errorf("KeyFromJS(%q) = %q, want %q", tc.js, got, tc.amf)
		}
	}
}

// TestProtoKeysRoundTrip: objects, typed objects (registered or not), ECMA and mixed arrays
// carrying the proto stems come back with their keys unchanged.
func TestProtoKeysRoundTrip(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	c.RegisterClass("geom.P", run(t, rt, "function P() {}; P").ToObject(rt))
	nested := obj("", "__proto__", obj("", "polluted", true), "constructor", obj("", "prototype", obj("", "isAdmin", true)))
	for name, in := range map[string]any{
		"object":     nested,
		"dollars":    obj("", "__proto__$", 1.0, "constructor$$", 2.0, "prototype", 3.0),
		"typed":      obj("com.x.T", "__proto__", obj("", "a", 1.0), "prototype", "p"),
		"registered": obj("geom.P", "constructor", "c", "x", 1.0),
		"ecma":       &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "__proto__", Value: obj("", "polluted", true)}, {Key: "constructor", Value: 1.0}}},
		"mixed":      &amf.Array{Dense: []any{1.0}, Assoc: []amf.Prop{{Key: "prototype", Value: nested}}},
	} {
		if got := fromJS(t, c, c.ToJS(in)); !sameModel(got, in) {
			t.Errorf("%s: round trip\n got  %#v\n want %#v", name, got, in)
		}
	}
}

// TestMergeCannotPollute: the classic recursive merge of client data into an app object, with
// {__proto__: {...}}, {constructor: {prototype: {...}}} and the same in an ECMA array, leaves
// Object.prototype untouched; the data is there under the renamed keys.
func TestMergeCannotPollute(t *testing.T) {
	t.Parallel()
	rt, c := newConv(t)
	run(t, rt, `var config = {};
function merge(dst, src) { for (var k in src) { if (typeof src[k] === 'object') { if (!dst[k]) dst[k] = {}; merge(dst[k], src[k]); } else dst[k] = src[k]; } }`)
	evil := obj("", "polluted", true, "isAdmin", true)
	for _, in := range []any{
		obj("", "__proto__", evil),
		obj("", "constructor", obj("", "prototype", evil)),
		obj("", "a", obj("", "__proto__", evil)),
		&amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "__proto__", Value: evil}}},
		&amf.Array{Assoc: []amf.Prop{{Key: "constructor", Value: obj("", "prototype", evil)}}},
		obj("com.x.T", "__proto__", evil),
	} {
		jsTrue(t, rt, c.ToJS(in), "merge(config, v); true")
	}
	jsTrue(t, rt, nil, "({}).polluted === undefined && ({}).isAdmin === undefined && Object.prototype.polluted === undefined")
	jsTrue(t, rt, nil, "config['__proto__$'].isAdmin === true && config['constructor$']['prototype$'].polluted === true")
}
