package webhook

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/internal/jsonw"
)

// stringFixtures are the strings whose encoding is easy to get wrong; they seed FuzzAppendString.
var stringFixtures = []string{"", "plain", `q"uote\back`, "\x00\x01\x1f\x7f", "line\nbreak\r\ttab", "\xff\xfe", "a\xc3",
	"\u2028\u2029", "é中𝄞", "<script>&amp;", "\xed\xa0\x80"}

func TestEncoderAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range stringFixtures {
		ev := &plugin.Event{Kind: plugin.EvPlay, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)), Seq: 77,
			App: s, Instance: s, ClientID: s, IP: s, Protocol: s, Agent: s, Edge: s, Stream: s, Status: s, Reason: s,
			Referrer: "http://a/" + s, PageURL: s, BytesIn: 1 << 40, BytesOut: 3, Duration: 1234567 * time.Microsecond}
		var mine, theirs map[string]any
		if err := json.Unmarshal(encodeEvent(ev), &mine); err != nil {
			t.Fatalf("%q: %v: %s", s, err, encodeEvent(ev))
		}
		std, _ := json.Marshal(NewPayload(ev))
		json.Unmarshal(std, &theirs)
		if !reflect.DeepEqual(mine, theirs) {
			t.Errorf("%q:\n mine   %v\n theirs %v", s, mine, theirs)
		}
		var p Payload
		if err := json.Unmarshal(encodeEvent(ev), &p); err != nil || !p.Time.Equal(ev.Time) || p.DurationMS != 1234 {
			t.Errorf("%q: decoded %+v, %v", s, p, err)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringFixtures {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := jsonw.AppendString(nil, s)
		var mine, theirs string
		if err := json.Unmarshal(out, &mine); err != nil {
			t.Fatalf("%q encodes to invalid JSON %q: %v", s, out, err)
		}
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &theirs)
		if mine != theirs {
			t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, mine, theirs)
		}
	})
}
