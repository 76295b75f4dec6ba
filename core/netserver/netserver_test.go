package netserver

import (
	"context"
	"net"
	"testing"

	"github.com/rs/zerolog"
)

// TestStopAcceptingFreesTheAddress: after StopAccepting the same address can be bound again at
// once (a restarted server), and connections accepted before are still tracked and closable.
func TestStopAcceptingFreesTheAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	release := make(chan struct{})
	s := New(ln, 0, func(_ context.Context, c net.Conn) { close(accepted); <-release }, zerolog.Nop())
	go s.Serve(context.Background())
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-accepted
	s.StopAccepting()
	again, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("address still taken after StopAccepting: %v", err)
	}
	again.Close()
	if s.Count() != 1 {
		t.Fatalf("tracked %d connections, want 1", s.Count())
	}
	close(release)
	s.Wait()
}
