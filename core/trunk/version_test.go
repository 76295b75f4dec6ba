package trunk

import (
	"errors"
	"fmt"
	"testing"
)

// TestOlderPeerRefused: since version 3 (typed stream verdicts) a session means something else,
// so a peer that speaks at most version 2 gets a clear refusal on both sides (ErrVersion, with
// the versions each speaks), whichever side is older.
func TestOlderPeerRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		edge, origin HandshakeConfig
	}{
		{"version 2 edge", HandshakeConfig{ID: "e", MinVersion: 1, MaxVersion: 2}, HandshakeConfig{ID: "o"}},
		{"version 2 origin", HandshakeConfig{ID: "e"}, HandshakeConfig{ID: "o", MinVersion: 1, MaxVersion: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cc, sc := tcpPair(t)
			done := make(chan error, 1)
			go func() {
				_, err := ServerHandshake(sc, c.origin)
				done <- err
			}()
			_, err := ClientHandshake(cc, c.edge)
			oerr := <-done
			if !errors.Is(err, ErrVersion) || !errors.Is(oerr, ErrVersion) {
				t.Fatalf("edge %v, origin %v: want ErrVersion on both", err, oerr)
			}
			t.Logf("edge: %v; origin: %v", err, oerr)
		})
	}
}

// TestStreamVerdictRoundTrip: every op with and without messages decodes to what was encoded.
func TestStreamVerdictRoundTrip(t *testing.T) {
	t.Parallel()
	for op := OpPlayStart; op <= OpReceiveVideo; op++ {
		t.Run(fmt.Sprint("op ", op), func(t *testing.T) {
			t.Parallel()
			in := StreamVerdict{StreamID: 3, Op: op, Flags: 1, Stream: "cam",
				Messages: []VerdictMessage{{Type: 20, Payload: []byte{2, 0, 1, 'x'}}, {Type: 18, Payload: []byte{5}}}}
			got, err := DecodeStreamVerdict(in.AppendBody(nil))
			if err != nil || got.StreamID != 3 || got.Op != op || got.Stream != "cam" || len(got.Messages) != 2 ||
				got.Messages[1].Type != 18 || string(got.Messages[0].Payload) != "\x02\x00\x01x" {
				t.Fatalf("got %+v %v", got, err)
			}
		})
	}
}
