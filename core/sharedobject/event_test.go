package sharedobject

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// eventCase is a byte fixture built from PROTOCOL.md's event table. canonical cases must encode
// back to exactly the same bytes.
type eventCase struct {
	name      string
	typ       uint8
	hex       string
	amf3      bool
	canonical bool
	want      Event
	wantErr   error
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var eventCases = []eventCase{
	{name: "use", typ: 1, canonical: true, want: Event{Type: EventUse}},
	{name: "release", typ: 2, canonical: true, want: Event{Type: EventRelease}},
	{name: "clear", typ: 8, canonical: true, want: Event{Type: EventClear}},
	{name: "use success", typ: 11, canonical: true, want: Event{Type: EventUseSuccess}},
	{name: "use with stray bytes", typ: 1, hex: "0000", want: Event{Type: EventUse}},
	{name: "request change amf0 number", typ: 3, hex: "0001 78 00 3ff0000000000000", canonical: true,
		want: Event{Type: EventRequestChange, Pairs: []Pair{{"x", 1.0}}}},
	{name: "change amf0 string", typ: 4, hex: "0003 6b6579 02 0002 6869", canonical: true,
		want: Event{Type: EventChange, Pairs: []Pair{{"key", "hi"}}}},
	{name: "change amf3 switched int", typ: 4, hex: "0001 78 11 04 05", amf3: true, canonical: true,
		want: Event{Type: EventChange, Pairs: []Pair{{"x", 5.0}}}},
	{name: "change amf3 switched string", typ: 4, hex: "0001 78 11 06 05 6869", amf3: true, canonical: true,
		want: Event{Type: EventChange, Pairs: []Pair{{"x", "hi"}}}},
	{name: "change packed pairs (crtmpserver)", typ: 4,
		hex: "0001 61 00 4000000000000000 0001 62 05 0001 63 01 01", canonical: true,
		want: Event{Type: EventChange, Pairs: []Pair{{"a", 2.0}, {"b", nil}, {"c", true}}}},
	{name: "change object value", typ: 4, hex: "0001 6f 03 0001 6b 02 0001 76 000009", canonical: true,
		want: Event{Type: EventChange, Pairs: []Pair{{"o", &amf.Object{Props: []amf.Prop{{Key: "k", Value: "v"}}}}}}},
	{name: "request change undefined", typ: 3, hex: "0001 75 06", canonical: true,
		want: Event{Type: EventRequestChange, Pairs: []Pair{{"u", amf.Undefined{}}}}},
	{name: "success", typ: 5, hex: "0003 6b6579", canonical: true, want: Event{Type: EventSuccess, Key: "key"}},
	{name: "remove", typ: 9, hex: "0001 78", canonical: true, want: Event{Type: EventRemove, Key: "x"}},
	{name: "request remove", typ: 10, hex: "0001 78", canonical: true, want: Event{Type: EventRequestRemove, Key: "x"}},
	{name: "empty key", typ: 9, hex: "0000", canonical: true, want: Event{Type: EventRemove, Key: ""}},
	{name: "send message amf0", typ: 6, hex: "02 0002 6869 02 0001 61 00 4000000000000000", canonical: true,
		want: Event{Type: EventSendMessage, Method: "hi", Args: []any{"a", 2.0}}},
	{name: "send message no args", typ: 6, hex: "02 0004 70696e67", canonical: true,
		want: Event{Type: EventSendMessage, Method: "ping"}},
	{name: "send message amf3 args", typ: 6, hex: "02 0002 6869 11 06 03 61 11 04 02", amf3: true, canonical: true,
		want: Event{Type: EventSendMessage, Method: "hi", Args: []any{"a", 2.0}}},
	{name: "status", typ: 7, hex: "001a " + hex.EncodeToString([]byte("SharedObject.Flush.Success")) + " 0006 737461747573",
		canonical: true, want: Event{Type: EventStatus, Code: "SharedObject.Flush.Success", Level: "status"}},

	{name: "unknown type 12", typ: 12, wantErr: ErrUnknownEvent},
	{name: "unknown type 0", typ: 0, wantErr: ErrUnknownEvent},
	{name: "unknown type 255", typ: 255, hex: "01", wantErr: ErrUnknownEvent},
	{name: "change empty", typ: 4, wantErr: ErrBadEvent},
	{name: "change key truncated", typ: 4, hex: "0005 6162", wantErr: ErrBadEvent},
	{name: "change value missing", typ: 4, hex: "0001 78", wantErr: ErrBadEvent},
	{name: "change value truncated", typ: 4, hex: "0001 78 00 3ff0", wantErr: ErrBadEvent},
	{name: "change bad marker", typ: 4, hex: "0001 78 04", wantErr: ErrBadEvent},
	{name: "change second pair truncated", typ: 3, hex: "0001 78 05 00", wantErr: ErrBadEvent},
	{name: "success with trailing bytes", typ: 5, hex: "0001 78 00", wantErr: ErrBadEvent},
	{name: "remove one byte", typ: 9, hex: "00", wantErr: ErrBadEvent},
	{name: "request remove empty", typ: 10, wantErr: ErrBadEvent},
	{name: "send message method not string", typ: 6, hex: "00 3ff0000000000000", wantErr: ErrBadEvent},
	{name: "send message empty", typ: 6, wantErr: ErrBadEvent},
	{name: "send message plain key method", typ: 6, hex: "0002 6869", wantErr: ErrBadEvent},
	{name: "status level missing", typ: 7, hex: "0001 61", wantErr: ErrBadEvent},
	{name: "status trailing", typ: 7, hex: "0001 61 0001 62 00", wantErr: ErrBadEvent},
	{name: "huge declared key", typ: 4, hex: "ffff 61", wantErr: ErrBadEvent},
	{name: "deep nesting", typ: 4, hex: "0001 78" + strings.Repeat("0a00000001", 100), wantErr: ErrBadEvent},
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range eventCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d amf.Decoder
			got, err := DecodeEvent(&d, rtmpmsg.SharedObjectEvent{Type: tc.typ, Data: h(tc.hex)})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
			if !tc.canonical {
				return
			}
			var e amf.Encoder
			raw, err := EncodeEvent(&e, &tc.want, tc.amf3)
			if err != nil {
				t.Fatal(err)
			}
			if raw.Type != tc.typ || hex.EncodeToString(raw.Data) != hex.EncodeToString(h(tc.hex)) {
				t.Fatalf("encoded type %d % x, want type %d % x", raw.Type, raw.Data, tc.typ, h(tc.hex))
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Parallel()
	var d amf.Decoder
	long := strings.Repeat("k", MaxKeyBytes+1)
	data := append(appendKey(nil, long), 0x05)
	if _, err := DecodeEvent(&d, rtmpmsg.SharedObjectEvent{Type: 3, Data: data}); !errors.Is(err, ErrBadEvent) {
		t.Fatalf("long key: %v", err)
	}
	send := amf.AppendString0(nil, "m")
	for range MaxArgs + 1 {
		send = append(send, 0x05)
	}
	if _, err := DecodeEvent(&d, rtmpmsg.SharedObjectEvent{Type: 6, Data: send}); !errors.Is(err, ErrBadEvent) {
		t.Fatalf("too many args: %v", err)
	}
}

// TestDecodeEventsMessage decodes a whole type-19 message through rtmpmsg's envelope.
func TestDecodeEventsMessage(t *testing.T) {
	t.Parallel()
	m := rtmpmsg.SharedObjectMessage{Name: "room", Version: 3, Events: []rtmpmsg.SharedObjectEvent{
		{Type: 11}, {Type: 8}, {Type: 4, Data: h("0001 78 05")}}}
	wire := rtmpmsg.AppendSharedObject(nil, &m, false)
	back, err := rtmpmsg.DecodeSharedObject(rtmpmsg.TypeSharedObjectAMF0, wire)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := DecodeEvents(&back)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Type: EventUseSuccess}, {Type: EventClear}, {Type: EventChange, Pairs: []Pair{{"x", nil}}}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %#v", evs)
	}
	back.Events = append(back.Events, rtmpmsg.SharedObjectEvent{Type: 99})
	if _, err := DecodeEvents(&back); !errors.Is(err, ErrUnknownEvent) || !strings.Contains(err.Error(), "event 3") {
		t.Fatalf("unknown event: %v", err)
	}
}

func TestEventTypeString(t *testing.T) {
	t.Parallel()
	if EventRequestChange.String() != "requestChange" || EventType(0).String() != "unknown(0)" ||
		EventType(40).String() != "unknown(40)" {
		t.Fatal("names")
	}
}

// FuzzDecodeEvents feeds arbitrary event bodies (type byte first) to the decoder: it must never
// panic, and what it accepts must encode and decode again to an equal event.
func FuzzDecodeEvents(f *testing.F) {
	for _, tc := range eventCases {
		f.Add(append([]byte{tc.typ}, h(tc.hex)...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		var d amf.Decoder
		ev, err := DecodeEvent(&d, rtmpmsg.SharedObjectEvent{Type: b[0], Data: b[1:]})
		if err != nil {
			return
		}
		var e amf.Encoder
		for _, amf3 := range []bool{false, true} {
			raw, err := EncodeEvent(&e, &ev, amf3)
			if err != nil {
				continue // e.g. an AMF3-decoded graph AMF0 cannot express
			}
			if _, err := DecodeEvent(&d, raw); err != nil {
				t.Fatalf("re-decode (amf3=%v) of % x: %v", amf3, raw.Data, err)
			}
		}
	})
}
