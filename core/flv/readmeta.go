package flv

import (
	"math"

	"github.com/fmsgo/fmsgo/core/amf"
)

// maxTimestamp is the largest FLV timestamp, in milliseconds.
const maxTimestamp = math.MaxUint32

// Metadata is a file's onMetaData as read.
type Metadata struct {
	Offset int64 // of the tag
	Size   int   // of its payload
	// Props are its top-level properties in file order, the index and padding included.
	Props []amf.Prop
	// Duration is the duration property in seconds; 0 if absent or not a sane number.
	Duration float64
	// Keyframes is the keyframes {times, filepositions} index when it is well formed (equal
	// lengths, numbers, inside the file, in order); nil otherwise. Its entries are not yet checked
	// against the tags they point to: the Reader does that when it uses one.
	Keyframes []Keyframe
}

// parseMetadata decodes an onMetaData payload with the bounded decoder; false if it is not one.
func parseMetadata(p []byte, d *amf.Decoder, r *Reader) (*Metadata, bool) {
	d.Reset(p)
	name, err := d.DecodeAMF0()
	if s, ok := name.(string); err != nil || !ok || s != "onMetaData" {
		return nil, false
	}
	v, err := d.DecodeAMF0()
	if err != nil {
		return nil, false
	}
	m := &Metadata{}
	switch x := v.(type) {
	case *amf.Array:
		m.Props = x.Assoc
	case *amf.Object:
		m.Props = x.Props
	default:
		return nil, false
	}
	if f, ok := prop(m.Props, "duration").(float64); ok && f >= 0 && f*1000 <= maxTimestamp {
		m.Duration = f
	}
	m.Keyframes = parseKeyframes(prop(m.Props, "keyframes"), r)
	return m, true
}

func prop(props []amf.Prop, key string) any {
	for _, p := range props {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// Get returns the value of a top-level property (nil if absent).
func (m *Metadata) Get(key string) any { return prop(m.Props, key) }

// parseKeyframes checks the shape of a keyframes object against the file.
func parseKeyframes(v any, r *Reader) []Keyframe {
	var props []amf.Prop
	switch x := v.(type) {
	case *amf.Object:
		props = x.Props
	case *amf.Array:
		props = x.Assoc
	default:
		return nil
	}
	times, ok1 := prop(props, "times").(*amf.Array)
	pos, ok2 := prop(props, "filepositions").(*amf.Array)
	if !ok1 || !ok2 || len(times.Dense) != len(pos.Dense) || len(pos.Dense) == 0 {
		return nil
	}
	out := make([]Keyframe, 0, len(pos.Dense))
	for i := range pos.Dense {
		t, ok1 := times.Dense[i].(float64)
		o, ok2 := pos.Dense[i].(float64)
		if !ok1 || !ok2 || !(t >= 0 && t*1000 <= maxTimestamp) ||
			!(o >= float64(r.dataStart) && o+TagHeaderSize <= float64(r.size)) {
			return nil
		}
		k := Keyframe{Timestamp: uint32(math.Round(t * 1000)), Offset: int64(o)}
		if n := len(out); n > 0 && (k.Offset <= out[n-1].Offset || k.Timestamp < out[n-1].Timestamp) {
			return nil
		}
		out = append(out, k)
	}
	return out
}

// index is the metadata's keyframes as a seek index, capped like a scanned one.
func (m *Metadata) index(max int) *Index {
	if len(m.Keyframes) == 0 {
		return nil
	}
	x := NewIndex(max)
	for _, k := range m.Keyframes {
		x.Add(k)
	}
	return x
}

// AppendPlayerData appends the onMetaData data message to send to a player of the file: its
// properties without the keyframes index and the padding, which only matter inside a file.
func (m *Metadata) AppendPlayerData(dst []byte) ([]byte, error) {
	a := &amf.Array{ECMA: true}
	for _, p := range m.Props {
		if p.Key != "keyframes" && p.Key != paddingKey {
			a.Assoc = append(a.Assoc, p)
		}
	}
	dst = amf.AppendString0(dst, "onMetaData")
	var e amf.Encoder
	return e.AppendAMF0(dst, a)
}
