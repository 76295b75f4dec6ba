package trunk

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSessionVerdictVersions: each layout decodes only with its own version's decoder, and a
// version 1 body carries no flags (the default behaviour).
func TestSessionVerdictVersions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		version uint16
		body    string
		want    SessionVerdict
	}{
		{"v1 accept", 1, "00000400 01 030000 09", SessionVerdict{Window: 1024, Status: VerdictAccept, Info: unhex("03000009")}},
		{"v1 reject, no info", 1, "00000400 00", SessionVerdict{Window: 1024, Info: []byte{}}},
		{"v2 accept, no onBWDone", 2, "00000400 01 01 03000009", SessionVerdict{Window: 1024, Status: VerdictAccept, Flags: VerdictNoBWDone, Info: unhex("03000009")}},
		{"v2 flags, no info", 2, "00000400 01 00", SessionVerdict{Window: 1024, Status: VerdictAccept, Info: []byte{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeSessionVerdictVersion(unhex(c.body), c.version)
			if err != nil || got.Window != c.want.Window || got.Status != c.want.Status || got.Flags != c.want.Flags || !bytes.Equal(got.Info, c.want.Info) {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}

// TestVerdictFollowsNegotiatedVersion: an origin speaking to a version 1 edge sends the version 1
// verdict layout (the flags are dropped, so that edge keeps its default behaviour); a version 2
// edge gets the flags.
func TestVerdictFollowsNegotiatedVersion(t *testing.T) {
	t.Parallel()
	for _, edgeMax := range []uint16{1, 2} {
		t.Run(fmt.Sprint("edge max version ", edgeMax), func(t *testing.T) {
			t.Parallel()
			cc, sc := tcpPair(t)
			done := make(chan hsResult, 1)
			go func() {
				l, err := ServerHandshake(sc, HandshakeConfig{ID: "o"})
				done <- hsResult{l, err}
			}()
			el, err := ClientHandshake(cc, HandshakeConfig{ID: "e", MaxVersion: edgeMax})
			ol := <-done
			if err != nil || ol.err != nil {
				t.Fatalf("handshake: %v / %v", err, ol.err)
			}
			frames := make(chan Frame, 1)
			edge := NewConn(el, Config{}, func(f Frame) error {
				if f.Kind == KindSessionVerdict {
					frames <- copyFrame(f)
				}
				return nil
			})
			orig := NewConn(ol.link, Config{}, func(Frame) error { return nil })
			serve(t, edge)
			serve(t, orig)
			info := unhex("03000009")
			if err := orig.Send(5, SessionVerdict{Status: VerdictAccept, Flags: VerdictNoBWDone, Info: info}); err != nil {
				t.Fatal(err)
			}
			f := <-frames // the test's own timeout bounds this wait
			if edge.Version() != edgeMax || orig.Version() != edgeMax {
				t.Fatalf("versions %d/%d, want %d", edge.Version(), orig.Version(), edgeMax)
			}
			v, err := DecodeSessionVerdictVersion(f.Body, edge.Version())
			wantFlags, wantLen := VerdictNoBWDone, 6+len(info)
			if edgeMax == 1 {
				wantFlags, wantLen = 0, 5+len(info)
			}
			if err != nil || v.Flags != wantFlags || len(f.Body) != wantLen || !bytes.Equal(v.Info, info) || v.Status != VerdictAccept {
				t.Fatalf("verdict body %x decoded as %+v %v", f.Body, v, err)
			}
		})
	}
}

// FuzzDecodeSessionVerdictVersion: both layouts decode arbitrary bodies without panicking and
// whatever decodes re-encodes to the same bytes in its own layout.
func FuzzDecodeSessionVerdictVersion(f *testing.F) {
	f.Add(unhex("00000400 01 030000 09"), uint16(1))
	f.Add(unhex("00000400 01 01 03000009"), uint16(2))
	f.Add(unhex("00000400"), uint16(2))
	f.Fuzz(func(t *testing.T, b []byte, version uint16) {
		v, err := DecodeSessionVerdictVersion(b, version)
		if err != nil {
			return
		}
		var again []byte
		if version >= 2 {
			again = v.AppendBody(nil)
		} else {
			again = sessionVerdictV1(v).AppendBody(nil)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs: %x, want %x", again, b)
		}
	})
}
