package jsapi

import (
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
)

// connectArg is a typical connect command object, the largest argument most handlers see.
func connectArg() *amf.Object {
	return obj("",
		"app", "live", "flashVer", "FMLE/3.0 (compatible; FMSc/1.0)", "swfUrl", "rtmp://h/live",
		"tcUrl", "rtmp://h/live", "fpad", false, "capabilities", 239.0, "audioCodecs", 3575.0,
		"videoCodecs", 252.0, "videoFunction", 1.0, "objectEncoding", 0.0,
		"extra", &amf.Array{Dense: []any{"alice", 7.0}})
}

func BenchmarkToJSConnect(b *testing.B) {
	_, c := newConv(b)
	arg := connectArg()
	b.ReportAllocs()
	for b.Loop() {
		c.ToJS(arg)
	}
}

func BenchmarkFromJSConnect(b *testing.B) {
	_, c := newConv(b)
	v := c.ToJS(connectArg())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromJS(v); err != nil {
			b.Fatal(err)
		}
	}
}
