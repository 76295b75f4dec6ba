package wsmsg

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// decodeCases are client frames and what Decode makes of them (nil want: an error). They seed
// FuzzDecode.
var decodeCases = []struct {
	name  string
	frame string
	want  *Message
}{
	{"connect", `{"type":"connect","args":["alice",{"$num":"NaN"}]}`, nil}, // NaN != NaN: checked apart
	{"connect-no-args", `{"type":"connect"}`, &Message{Type: TypeConnect}},
	{"call", `{"type":"call","id":3,"method":"say","args":["hi",1.5,true,null]}`,
		&Message{Type: TypeCall, ID: 3, Method: "say", Args: []any{"hi", 1.5, true, nil}}},
	{"call-no-id", `{"method":"say","type":"call"}`, &Message{Type: TypeCall, Method: "say"}},
	{"call-typed", `{"type":"call","id":1,"method":"m","args":[{"$typed":{"class":"P","props":{"x":1}}},{"$undefined":true}]}`,
		&Message{Type: TypeCall, ID: 1, Method: "m", Args: []any{&amf.Object{Class: "P", Props: []amf.Prop{{Key: "x", Value: 1.0}}}, amf.Undefined{}}}},
	{"result", `{"type":"result","id":1001,"value":{"a":[1,2]}}`,
		&Message{Type: TypeResult, ID: 1001, Value: &amf.Object{Props: []amf.Prop{{Key: "a", Value: &amf.Array{Dense: []any{1.0, 2.0}}}}}}},
	{"result-null", `{"type":"result","id":2,"value":null}`, &Message{Type: TypeResult, ID: 2}},
	{"error", `{"type":"error","id":1001,"info":{"code":"X"}}`,
		&Message{Type: TypeError, ID: 1001, Info: &amf.Object{Props: []amf.Prop{{Key: "code", Value: "X"}}}}},
	{"so-use", `{"type":"so.use","name":"board","persistent":true,"version":7}`,
		&Message{Type: TypeSOUse, Name: "board", Persistent: true, Version: 7}},
	{"so-set", `{"type":"so.set","name":"b","key":"k","value":{"$date":5}}`,
		&Message{Type: TypeSOSet, Name: "b", Key: "k", Value: amf.Date{Millis: 5}}},
	{"so-delete", `{"type":"so.delete","name":"b","key":"k"}`, &Message{Type: TypeSODelete, Name: "b", Key: "k"}},
	{"so-send", `{"type":"so.send","name":"b","method":"draw","args":[{"$bytes":"AAE="}]}`,
		&Message{Type: TypeSOSend, Name: "b", Method: "draw", Args: []any{amf.ByteArray{0, 1}}}},
	{"so-release", `{"type":"so.release","name":"b","extra":1}`, &Message{Type: TypeSORelease, Name: "b"}},
	{"ping", `{"type":"ping","id":9}`, &Message{Type: TypePing, ID: 9}},

	{"not-json", `{"type":"call"`, nil},
	{"not-object", `["call"]`, nil},
	{"null", `null`, nil},
	{"empty", ``, nil},
	{"unknown-type", `{"type":"hello"}`, nil},
	{"server-type", `{"type":"connected","info":{}}`, nil},
	{"call-no-method", `{"type":"call","id":1}`, nil},
	{"call-negative-id", `{"type":"call","id":-1,"method":"m"}`, nil},
	{"call-string-id", `{"type":"call","id":"1","method":"m"}`, nil},
	{"args-not-array", `{"type":"call","method":"m","args":{"a":1}}`, nil},
	{"args-sparse", `{"type":"call","method":"m","args":{"$array":{"dense":[1],"assoc":{"k":1},"ecma":false}}}`, nil},
	{"result-no-id", `{"type":"result","value":1}`, nil},
	{"result-no-value", `{"type":"result","id":1}`, nil},
	{"so-no-name", `{"type":"so.use"}`, nil},
	{"so-set-no-key", `{"type":"so.set","name":"b","value":1}`, nil},
	{"so-set-no-value", `{"type":"so.set","name":"b","key":"k"}`, nil},
	{"so-negative-version", `{"type":"so.use","name":"b","version":-1}`, nil},
	{"bad-escape", `{"type":"call","method":"m","args":[{"$nope":1}]}`, nil},
	{"bad-ref", `{"type":"call","method":"m","args":[{"$ref":5}]}`, nil},
	{"deep", `{"type":"call","method":"m","args":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, nil},
	{"trailing", `{"type":"ping"} x`, nil},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode([]byte(tc.frame), 0)
			if tc.name == "connect" {
				if err != nil || len(m.Args) != 2 || m.Args[0] != "alice" {
					t.Fatalf("got %+v, %v", m, err)
				}
				return
			}
			if tc.want == nil {
				if err == nil || !errors.Is(err, ErrBadMessage) {
					t.Fatalf("Decode = %+v, %v; want an ErrBadMessage", m, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&m, tc.want) {
				t.Fatalf("Decode = %#v\nwant %#v", m, *tc.want)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	args := strings.Repeat("1,", rtmpmsg.MaxArgs) + "1"
	if _, err := Decode([]byte(`{"type":"call","method":"m","args":[`+args+`]}`), 0); err == nil {
		t.Error("more than MaxArgs arguments decoded")
	}
	key := strings.Repeat("k", sharedobject.MaxKeyBytes+1)
	if _, err := Decode([]byte(`{"type":"so.delete","name":"b","key":"`+key+`"}`), 0); err == nil {
		t.Error("an over-long key decoded")
	}
}

// TestRoundTrip: what Append writes, Decode (or DecodeServer) reads back the same.
func TestRoundTrip(t *testing.T) {
	server := []Message{
		{Type: TypeConnected, Info: &amf.Object{Props: []amf.Prop{{Key: "code", Value: "NetConnection.Connect.Success"}}}},
		{Type: TypeRejected, Info: &amf.Object{Props: []amf.Prop{{Key: "application", Value: &amf.Object{Props: []amf.Prop{{Key: "m", Value: "no"}}}}}}},
		{Type: TypeCall, ID: 1001, Method: "onMessage", Args: []any{"a", 1.0}},
		{Type: TypeResult, ID: 2, Value: amf.XML("<a/>")},
		{Type: TypeStatus, Info: &amf.Object{Props: []amf.Prop{{Key: "code", Value: "X"}}}, Stream: 3},
		{Type: TypeSOSync, Name: "b", Version: 4, Changes: []Change{{Code: CodeClear}, {Code: CodeChange, Name: "k", Value: 1.0, HasValue: true},
			{Code: CodeReject, Name: "r"}, {Code: CodeSuccess, Name: "s"}, {Code: CodeDelete, Name: "d"}}},
		{Type: TypeSOSend, Name: "b", Method: "m"},
		{Type: TypeSOStatus, Name: "b", Info: &amf.Object{Props: []amf.Prop{{Key: "level", Value: "error"}}}},
		{Type: TypePong, ID: 5},
	}
	for _, m := range server {
		b, err := Append(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeServer(b, 0)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s: %s decoded to %#v, %v", m.Type, b, got, err)
		}
	}
	for _, tc := range decodeCases {
		if tc.want == nil {
			continue
		}
		b, err := Append(nil, tc.want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b, 0)
		if err != nil || !reflect.DeepEqual(&got, tc.want) {
			t.Errorf("%s: %s decoded to %#v, %v", tc.name, b, got, err)
		}
	}
}

// TestAppendGoConveniences: server code may hand a client Go values the AMF encoders take.
func TestAppendGoConveniences(t *testing.T) {
	b, err := Append(nil, &Message{Type: TypeResult, ID: 1, Value: map[string]any{"n": int64(3), "l": []any{uint8(1)}}})
	if err != nil || string(b) != `{"type":"result","id":1,"value":{"l":[1],"n":3}}` {
		t.Fatalf("%s, %v", b, err)
	}
}

// TestSharedObjectTranslation: a registry message with every kind of event, and the so.*
// messages a browser gets for it.
func TestSharedObjectTranslation(t *testing.T) {
	var enc amf.Encoder
	ev := func(e sharedobject.Event) rtmpmsg.SharedObjectEvent {
		raw, err := sharedobject.EncodeEvent(&enc, &e, true)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	msg := &rtmpmsg.SharedObjectMessage{Name: "b", Version: 9, Events: []rtmpmsg.SharedObjectEvent{
		ev(sharedobject.Event{Type: sharedobject.EventUseSuccess}),
		ev(sharedobject.Event{Type: sharedobject.EventClear}),
		ev(sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "a", Value: 1.0}, {Key: "b", Value: "x"}}}),
		ev(sharedobject.Event{Type: sharedobject.EventSuccess, Key: "c"}),
		ev(sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "m", Args: []any{2.0}}),
		ev(sharedobject.Event{Type: sharedobject.EventRemove, Key: "d"}),
		ev(sharedobject.Event{Type: sharedobject.EventStatus, Code: sharedobject.CodeNoWriteAccess, Level: "error"}),
		ev(sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "e", Value: 3.0}}}),
		ev(sharedobject.Event{Type: sharedobject.EventRemove, Key: "f"}),
	}}
	got, err := SharedObjectMessages(msg)
	if err != nil {
		t.Fatal(err)
	}
	status := &amf.Object{Props: []amf.Prop{{Key: "level", Value: "error"}, {Key: "code", Value: sharedobject.CodeNoWriteAccess}}}
	want := []Message{
		{Type: TypeSOSync, Name: "b", Version: 9, Changes: []Change{{Code: CodeClear}, {Code: CodeChange, Name: "a", Value: 1.0, HasValue: true},
			{Code: CodeChange, Name: "b", Value: "x", HasValue: true}, {Code: CodeSuccess, Name: "c"}}},
		{Type: TypeSOSend, Name: "b", Method: "m", Args: []any{2.0}},
		{Type: TypeSOSync, Name: "b", Version: 9, Changes: []Change{{Code: CodeDelete, Name: "d"}}},
		{Type: TypeSOStatus, Name: "b", Info: status},
		{Type: TypeSOSync, Name: "b", Version: 9, Changes: []Change{{Code: CodeReject, Name: "e", Value: 3.0, HasValue: true}, {Code: CodeReject, Name: "f"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	use, _ := SharedObjectMessages(&rtmpmsg.SharedObjectMessage{Name: "b", Version: 9, Events: msg.Events[:1]})
	if len(use) != 1 || use[0].Type != TypeSOSync || use[0].Changes == nil || len(use[0].Changes) != 0 {
		t.Fatalf("UseSuccess alone: %#v", use)
	}
}

// TestSharedObjectRequest: each so.* request is the registry's event, AMF3, with its flags.
func TestSharedObjectRequest(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want sharedobject.Event
	}{
		{Message{Type: TypeSOUse, Name: "b", Persistent: true, Version: 3}, sharedobject.Event{Type: sharedobject.EventUse}},
		{Message{Type: TypeSORelease, Name: "b"}, sharedobject.Event{Type: sharedobject.EventRelease}},
		{Message{Type: TypeSOSet, Name: "b", Key: "k", Value: 1.0}, sharedobject.Event{Type: sharedobject.EventRequestChange, Pairs: []sharedobject.Pair{{Key: "k", Value: 1.0}}}},
		{Message{Type: TypeSODelete, Name: "b", Key: "k"}, sharedobject.Event{Type: sharedobject.EventRequestRemove, Key: "k"}},
		{Message{Type: TypeSOSend, Name: "b", Method: "m", Args: []any{"x"}}, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "m", Args: []any{"x"}}},
	} {
		msg, err := SharedObjectRequest(&tc.m)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := sharedobject.DecodeEvents(msg)
		if err != nil || len(evs) != 1 || !reflect.DeepEqual(evs[0], tc.want) || msg.Name != "b" || msg.Version != tc.m.Version || msg.Persistent() != tc.m.Persistent {
			t.Errorf("%s: %+v %+v, %v", tc.m.Type, msg, evs, err)
		}
	}
	if _, err := SharedObjectRequest(&Message{Type: TypeCall}); err == nil {
		t.Error("a call made a shared-object request")
	}
}

// FuzzDecode: any frame decodes or fails cleanly; what decodes re-encodes and decodes the same,
// and its so.* requests encode.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.frame))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame, 0)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not an ErrBadMessage", err)
			}
			return
		}
		b, err := Append(nil, &m)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		again, err := Decode(b, 0)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", b, err)
		}
		b2, _ := Append(nil, &again)
		if string(b) != string(b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
		if m.Type.isSO() {
			if _, err := SharedObjectRequest(&m); err != nil && !errors.Is(err, amf.ErrTooDeep) {
				t.Logf("so request of %s: %v", b, err)
			}
		}
	})
}
