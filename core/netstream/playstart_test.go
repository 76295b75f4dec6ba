package netstream

import (
	"fmt"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestPlayStartOrder: FMS's order, Play.Reset only when asked, |RtmpSampleAccess and (AMF3
// clients only) NetStream.Data.Start as AMF0 data messages that decode.
func TestPlayStartOrder(t *testing.T) {
	for _, c := range []struct {
		reset, amf3 bool
		want        string
	}{
		{true, true, "[StreamBegin NetStream.Play.Reset NetStream.Play.Start 18:|RtmpSampleAccess[true true] 18:onStatus[NetStream.Data.Start]]"},
		{false, true, "[StreamBegin NetStream.Play.Start 18:|RtmpSampleAccess[true true] 18:onStatus[NetStream.Data.Start]]"},
		{true, false, "[StreamBegin NetStream.Play.Reset NetStream.Play.Start 18:|RtmpSampleAccess[true true]]"},
	} {
		var got []string
		for _, m := range PlayStart("cam", c.reset, c.amf3) {
			switch m.Kind {
			case StreamBegin:
				got = append(got, "StreamBegin")
			case Status:
				got = append(got, m.Code)
			case Data:
				var d amf.Decoder
				data, err := rtmpmsg.DecodeData(m.Type, m.Payload, &d)
				if err != nil {
					t.Fatalf("data message %q: %v", m.Payload, err)
				}
				got = append(got, fmt.Sprintf("%d:%s%v", m.Type, data.Name, describe(data.Args)))
			}
		}
		if fmt.Sprint(got) != c.want {
			t.Fatalf("reset=%v amf3=%v: %v, want %s", c.reset, c.amf3, got, c.want)
		}
	}
}

func describe(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if o, ok := a.(*amf.Object); ok {
			a = o.String("code")
		}
		out[i] = a
	}
	return out
}
