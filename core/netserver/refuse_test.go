package netserver

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestRefuserAnswersOnePerAddress: a refused connection is handed to the Refuser (to be told
// why) while its address has none being answered; a second refused connection from that address
// meanwhile is reset at accept, so a flood costs one answer at a time; another address is
// answered alongside, and the address is answered again once its answer is done.
func TestRefuserAnswersOnePerAddress(t *testing.T) {
	t.Parallel()
	answered := make(chan string, 8)
	release := make(chan struct{})
	ls := startLimitedWith(t, Limits{MaxConns: 100, MaxPerAddress: 1}, func(_ context.Context, c net.Conn, reason string) {
		answered <- c.RemoteAddr().(*net.TCPAddr).IP.String() + " " + reason
		<-release
		_ = c.Close()
	})
	ls.mustServe(t, "127.0.0.1")
	ls.mustServe(t, "127.0.0.2")
	dialFrom(t, "127.0.0.1", ls.addr)
	if got := awaitAnswer(t, answered); got != "127.0.0.1 per_address" {
		t.Fatalf("answered %q", got)
	}
	ls.mustRefuse(t, "127.0.0.1") // its address is being answered: reset
	dialFrom(t, "127.0.0.2", ls.addr)
	if got := awaitAnswer(t, answered); got != "127.0.0.2 per_address" {
		t.Fatalf("answered %q", got)
	}
	close(release)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(5 * time.Second); ; <-tick.C {
		ls.s.mu.Lock()
		n := len(ls.s.answering)
		ls.s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d answers still held after release", n)
		}
	}
	dialFrom(t, "127.0.0.1", ls.addr)
	if got := awaitAnswer(t, answered); got != "127.0.0.1 per_address" {
		t.Fatalf("answered %q", got)
	}
	if r := ls.s.Refused(); r != (Refusals{PerAddress: 4}) {
		t.Fatalf("refusals %+v, want every refusal counted", r)
	}
}

func awaitAnswer(t *testing.T, answered <-chan string) string {
	t.Helper()
	select {
	case a := <-answered:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("the refused connection was not handed to the Refuser")
		return ""
	}
}

// TestRefusalDescriptions: each reason tells the client something different and useful.
func TestRefusalDescriptions(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range []string{ReasonGlobal, ReasonPerAddress, ReasonRate} {
		d := RefusalDescription(r)
		if d == "" || seen[d] {
			t.Fatalf("%s: description %q", r, d)
		}
		seen[d] = true
	}
}
