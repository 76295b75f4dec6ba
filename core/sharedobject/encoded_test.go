package sharedobject

import (
	"bytes"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestEncodedOncePerMessage: Encoded gives the wire encoding, computed once per message and
// encoding, and a new message gets its own.
func TestEncodedOncePerMessage(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	a := &rtmpmsg.SharedObjectMessage{Name: "a", Version: 1}
	b := &rtmpmsg.SharedObjectMessage{Name: "b", Version: 2}
	for _, amf3 := range []bool{false, true} {
		first := r.Encoded(a, amf3)
		if !bytes.Equal(first, rtmpmsg.AppendSharedObject(nil, a, amf3)) {
			t.Fatalf("amf3=%v: not the wire encoding", amf3)
		}
		if again := r.Encoded(a, amf3); &again[0] != &first[0] {
			t.Fatalf("amf3=%v: encoded again for the same message", amf3)
		}
		if other := r.Encoded(b, amf3); !bytes.Equal(other, rtmpmsg.AppendSharedObject(nil, b, amf3)) {
			t.Fatalf("amf3=%v: another message got a stale encoding", amf3)
		}
	}
}
