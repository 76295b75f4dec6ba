// Package amf decodes and encodes AMF0 and AMF3, the value formats of RTMP commands, data messages
// and shared objects. Its decoders take untrusted bytes: every length is checked against the bytes
// left before anything is allocated, nesting is capped, and reference indexes are range-checked, so
// a hostile message costs an error, never a crash or a large allocation.
//
// Both formats decode into one Go value model, so that the layers above (RTMP commands, the JS
// engine, shared objects) never care which encoding a client used:
//
//	AMF null                      nil
//	AMF undefined                 Undefined{}
//	AMF0 unsupported (0x0D)       Unsupported{}
//	number, AMF3 integer          float64
//	boolean                       bool
//	string, long string           string
//	object, typed object          *Object (ordered properties; Class "" unless typed)
//	ECMA array, strict array,     *Array (Dense values, Assoc ordered properties; ECMA marks an
//	AMF3 array                     AMF0 ECMA array so that it is re-encoded as one)
//	date                          Date
//	XML document (0x0F / 0x07)    XMLDocument
//	AMF3 XML (0x0B)               XML
//	AMF3 byte array               ByteArray
//	AMF3 vectors                  *Vector
//	AMF3 dictionary               *Dictionary
//
// Flex's externalizable flex.messaging.io.ArrayCollection and ObjectProxy decode to the value they
// wrap; other externalizable classes have private formats and are refused. Encoding maps the
// model back; where a format lacks a type it degrades visibly: Unsupported is AMF3 undefined, and
// in AMF0 the AMF3-only types (XML, ByteArray, Vector, Dictionary) are written AVM+-switched.
//
// References (AMF0 0x07, AMF3 reference tables) decode to the same pointer as the value they refer
// to, so a decoded graph may share nodes and contain cycles.
package amf

// Undefined is AMF's undefined, distinct from null (nil).
type Undefined struct{}

// Unsupported is AMF0's "unsupported" marker (0x0D); it encodes back as itself.
type Unsupported struct{}

// Prop is one key/value pair of an object or of an array's associative part; properties keep the
// order they arrived in, because apps and clients observe key order.
type Prop struct {
	Key   string
	Value any
}

// Object is an anonymous object (Class == "") or a typed object carrying its class name
// (AMF0 typed object 0x10, AMF3 object with a class name).
type Object struct {
	Class string
	Props []Prop
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (any, bool) {
	for i := range o.Props {
		if o.Props[i].Key == key {
			return o.Props[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or appends the key at the end if it is new.
func (o *Object) Set(key string, v any) {
	for i := range o.Props {
		if o.Props[i].Key == key {
			o.Props[i].Value = v
			return
		}
	}
	o.Props = append(o.Props, Prop{Key: key, Value: v})
}

// String returns the value of key if it is a string, else "".
func (o *Object) String(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// Number returns the value of key if it is a number, else 0 and false.
func (o *Object) Number(key string) (float64, bool) {
	v, _ := o.Get(key)
	f, ok := v.(float64)
	return f, ok
}

// Array is an array with a dense part and an associative part. An AMF0 strict array has only
// Dense; an AMF0 ECMA array has only Assoc and ECMA set; an AMF3 array may have both.
type Array struct {
	Dense []any
	Assoc []Prop
	ECMA  bool
}

// Date is a point in time as milliseconds since the Unix epoch (a float64 as on the wire, so NaN
// and fractional values survive), plus AMF0's time-zone field, which is kept but means nothing.
type Date struct {
	Millis   float64
	TimeZone int16
}

// XMLDocument is the legacy XML document type (AMF0 0x0F, AMF3 0x07).
type XMLDocument string

// XML is AMF3's E4X XML type (0x0B).
type XML string

// ByteArray is AMF3's flash.utils.ByteArray.
type ByteArray []byte

// Vector kinds, equal to their AMF3 markers.
const (
	VectorInt    byte = 0x0D
	VectorUint   byte = 0x0E
	VectorDouble byte = 0x0F
	VectorObject byte = 0x10
)

// Vector is an AMF3 typed vector. Items of int, uint and double vectors are float64; items of an
// object vector are any value. Class is the object vector's element type name ("" = "*").
type Vector struct {
	Kind  byte
	Fixed bool
	Class string
	Items []any
}

// DictEntry is one key/value pair of a Dictionary; keys may be any value.
type DictEntry struct {
	Key   any
	Value any
}

// Dictionary is AMF3's flash.utils.Dictionary.
type Dictionary struct {
	WeakKeys bool
	Entries  []DictEntry
}
