package wsconn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

func TestTokenBucket(t *testing.T) {
	b := tokenBucket{rate: 10, burst: 3, tokens: 3}
	now := time.Now()
	for i := 0; i < 3; i++ {
		if !b.take(now) {
			t.Fatalf("frame %d of the burst refused", i)
		}
	}
	if b.take(now) {
		t.Fatal("a frame past the burst was taken")
	}
	if !b.take(now.Add(100 * time.Millisecond)) { // one token a tenth of a second
		t.Fatal("the rate did not refill the bucket")
	}
	off := tokenBucket{rate: -1}
	for i := 0; i < 1000; i++ {
		if !off.take(now) {
			t.Fatal("a negative rate limited")
		}
	}
}

func TestShortReason(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	r := shortReason(long)
	if len(r) > 123 || !utf8.ValidString(r) || !strings.HasPrefix(long, r) {
		t.Fatalf("shortReason = %q (%d bytes)", r, len(r))
	}
	if shortReason("ok") != "ok" {
		t.Fatal("a short reason changed")
	}
}

func TestOrDefaults(t *testing.T) {
	l := Limits{WebMessageRate: 10}.OrDefaults()
	d := DefaultLimits()
	if l.WebMessageBurst != 20 || l.WebMaxMessageBytes != d.WebMaxMessageBytes || l.WebIdleTimeout != d.WebIdleTimeout {
		t.Fatalf("OrDefaults = %+v", l)
	}
	if (Limits{}).OrDefaults() != d {
		t.Fatalf("zero limits = %+v, want the defaults", (Limits{}).OrDefaults())
	}
	if off := (Limits{WebMessageRate: -1}).OrDefaults(); off.WebMessageRate != -1 {
		t.Fatalf("a negative rate became %v", off.WebMessageRate)
	}
}

// wsPair is a server-side and a client-side WebSocket of one connection.
func wsPair(t *testing.T) (server, client *websocket.Conn) {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- c
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	s := <-got
	t.Cleanup(func() { s.CloseNow() })
	return s, c
}

// TestStreamDeadline: a read deadline that passes ends the Read with a timeout and leaves the
// stream usable; bytes split over frames read as one stream.
func TestStreamDeadline(t *testing.T) {
	server, client := wsPair(t)
	s := NewStream(server, nil, nil, 1<<10)
	defer s.Close()
	_ = s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 8)
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	ctx := context.Background()
	for _, part := range []string{"hel", "lo"} {
		if err := client.Write(ctx, websocket.MessageBinary, []byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.SetReadDeadline(time.Time{})
	var got []byte
	for len(got) < 5 {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hello" {
		t.Fatalf("read %q", got)
	}
	if _, err := s.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if typ, b, err := client.Read(ctx); err != nil || typ != websocket.MessageBinary || string(b) != "back" {
		t.Fatalf("client read %v %q %v", typ, b, err)
	}
}
