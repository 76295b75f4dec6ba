package rtmpconn

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestQuietClientThatAnswersPingsStays: a client that sends nothing of its own (a chat client
// between messages, a player of a stream too slow to trigger acknowledgements) is pinged after
// half the idle timeout of silence and stays connected as long as it answers — here for more
// than three idle timeouts — while TestIdleReadDeadline's silent peer is closed. The pings are
// written by the read goroutine: no writer goroutine is started for them.
func TestQuietClientThatAnswersPingsStays(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	p := newPair(t, Config{IdleTimeout: idle})
	pings := make(chan struct{}, 16)
	go answerPings(p, pings)
	start := time.Now()
	for i := range 7 { // 7 pings: 3.5 idle timeouts of silence on the client's side
		select {
		case <-pings:
		case err := <-p.closed:
			t.Fatalf("connection ended after %d pings (%v): %v", i, time.Since(start), err)
		case <-time.After(10 * idle):
			t.Fatalf("ping %d never came", i+1)
		}
	}
	if el := time.Since(start); el < 3*idle {
		t.Fatalf("7 pings within %v: pinged more often than every half idle timeout", el)
	}
	if p.c.out.wake.Load() != nil {
		t.Error("a ping started a writer goroutine: the read goroutine should write it")
	}
	p.c.Close(nil)
	if err := <-p.closed; err != nil && strings.Contains(err.Error(), "idle timeout") {
		t.Fatalf("Serve: %v", err)
	}
}

// answerPings only answers the server's ping requests (announcing each on pings) until the
// connection ends.
func answerPings(p *pair, pings chan<- struct{}) {
	w := wire{chunk.NewWriter()}
	for {
		h, payload, err := p.rd.ReadMessage()
		if err != nil {
			return
		}
		if h.TypeID != rtmpmsg.TypeUserControl {
			continue
		}
		uc, err := rtmpmsg.ParseUserControl(payload)
		if err != nil || uc.Event != rtmpmsg.EventPingRequest {
			continue
		}
		answer := rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data)
		if _, err := p.client.Write(w.message(chunk.Header{CSID: 2, TypeID: rtmpmsg.TypeUserControl}, answer)); err != nil {
			return
		}
		pings <- struct{}{}
	}
}
