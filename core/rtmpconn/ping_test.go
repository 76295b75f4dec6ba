package rtmpconn

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// TestQuietClientThatAnswersPingsStays: a client that sends nothing of its own (a chat client
// between messages, a player of a stream too slow to trigger acknowledgements) is pinged after
// half the idle timeout of silence and stays connected as long as it answers — here for more
// than three idle timeouts — while TestIdleReadDeadline's silent peer is closed.
func TestQuietClientThatAnswersPingsStays(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pings := make(chan struct{}, 16)
	clientErr := make(chan error, 1)
	go func() { clientErr <- answerPings(ln.Addr().String(), pings) }()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := New(sc, Config{IdleTimeout: idle}, newRecvHandler(), zerolog.Nop())
	served := make(chan error, 1)
	go func() { served <- c.Serve(context.Background()) }()
	start := time.Now()
	for i := range 7 { // 7 pings: 3.5 idle timeouts of silence on the client's side
		select {
		case <-pings:
		case err := <-served:
			t.Fatalf("connection ended after %d pings (%v): %v", i, time.Since(start), err)
		case <-time.After(10 * idle):
			t.Fatalf("ping %d never came", i+1)
		}
	}
	if el := time.Since(start); el < 3*idle {
		t.Fatalf("7 pings within %v: pinged more often than every half idle timeout", el)
	}
	c.out.mu.Lock()
	startedWriter := c.out.wake != nil
	c.out.mu.Unlock()
	if startedWriter {
		t.Error("a ping started a writer goroutine: the read goroutine should write it")
	}
	c.Close(nil)
	if err := <-served; err != nil && strings.Contains(err.Error(), "idle timeout") {
		t.Fatalf("Serve: %v", err)
	}
	<-clientErr
}

// answerPings shakes hands, then only answers the server's ping requests (announcing each on
// pings) until the connection ends.
func answerPings(addr string, pings chan<- struct{}) error {
	cc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	if err := ClientHandshake(cc); err != nil {
		return err
	}
	r := chunk.NewReader(bufio.NewReader(cc), chunk.DefaultLimits())
	w := wire{chunk.NewWriter()}
	for {
		h, p, err := r.ReadMessage()
		if err != nil {
			return err
		}
		if h.TypeID != rtmpmsg.TypeUserControl {
			continue
		}
		uc, err := rtmpmsg.ParseUserControl(p)
		if err != nil || uc.Event != rtmpmsg.EventPingRequest {
			continue
		}
		answer := rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data)
		if _, err := cc.Write(w.message(chunk.Header{CSID: 2, TypeID: rtmpmsg.TypeUserControl}, answer)); err != nil {
			return err
		}
		pings <- struct{}{}
	}
}
