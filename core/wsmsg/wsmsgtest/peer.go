// Package wsmsgtest is a Go client of fmsgo.v1 for tests: a WebSocket whose reader goroutine
// decodes what the server sends, with the waits tests need (the next message, the first that
// matches, the answer to a call, the close).
package wsmsgtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

// Peer is one client connection. In is closed when the connection ends; Err says why.
type Peer struct {
	T   testing.TB
	C   *websocket.Conn
	In  chan wsmsg.Message
	Err error
}

// Dial opens a WebSocket to url with the fmsgo.v1 subprotocol and header, closed at the
// test's end.
func Dial(t testing.TB, url string, header http.Header) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wsmsg.Subprotocol}, HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return Wrap(t, c)
}

// Wrap starts the reader of a connection dialled by the caller.
func Wrap(t testing.TB, c *websocket.Conn) *Peer {
	c.SetReadLimit(64 << 20)
	p := &Peer{T: t, C: c, In: make(chan wsmsg.Message, 4096)}
	go p.read()
	t.Cleanup(func() { _ = c.CloseNow() })
	return p
}

func (p *Peer) read() {
	defer close(p.In)
	for {
		_, b, err := p.C.Read(context.Background())
		if err == nil {
			var m wsmsg.Message
			if m, err = wsmsg.DecodeServer(b, 0); err == nil {
				p.In <- m
				continue
			}
		}
		p.Err = err
		return
	}
}

// Connect dials url and connects with args, failing the test unless the app accepts.
func Connect(t testing.TB, url string, args ...any) *Peer {
	t.Helper()
	p := Dial(t, url, nil)
	p.Send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: args})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if m := p.Next(ctx); m.Type != wsmsg.TypeConnected {
		t.Fatalf("connect %s: %s", url, Show(m))
	}
	return p
}

// Send writes one message.
func (p *Peer) Send(m wsmsg.Message) {
	p.T.Helper()
	b, err := wsmsg.Append(nil, &m)
	if err != nil {
		p.T.Fatal(err)
	}
	p.SendRaw(b)
}

// SendRaw writes one text frame as it is.
func (p *Peer) SendRaw(b []byte) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.C.Write(ctx, websocket.MessageText, b); err != nil {
		p.T.Fatalf("write: %v", err)
	}
}

// Next is the server's next message.
func (p *Peer) Next(ctx context.Context) wsmsg.Message {
	p.T.Helper()
	return p.Await(ctx, "a message", func(wsmsg.Message) bool { return true })
}

// Await skips messages until one matches.
func (p *Peer) Await(ctx context.Context, what string, match func(wsmsg.Message) bool) wsmsg.Message {
	p.T.Helper()
	for {
		select {
		case m, ok := <-p.In:
			if !ok {
				p.T.Fatalf("connection ended waiting for %s: %v", what, p.Err)
			}
			if match(m) {
				return m
			}
		case <-ctx.Done():
			p.T.Fatalf("no %s in time", what)
		}
	}
}

// Call makes a call with id and waits for its answer (other messages are skipped).
func (p *Peer) Call(ctx context.Context, id float64, method string, args ...any) wsmsg.Message {
	p.T.Helper()
	p.Send(wsmsg.Message{Type: wsmsg.TypeCall, ID: id, Method: method, Args: args})
	return p.Await(ctx, "the answer to "+method, func(m wsmsg.Message) bool {
		return (m.Type == wsmsg.TypeResult || m.Type == wsmsg.TypeError) && m.ID == id
	})
}

// AwaitCall waits for the server's call of method.
func (p *Peer) AwaitCall(ctx context.Context, method string) wsmsg.Message {
	p.T.Helper()
	return p.Await(ctx, method, func(m wsmsg.Message) bool { return m.Type == wsmsg.TypeCall && m.Method == method })
}

// Closed waits for the server to end the connection and returns why (a close status: see
// websocket.CloseStatus).
func (p *Peer) Closed(ctx context.Context) error {
	p.T.Helper()
	for {
		select {
		case _, ok := <-p.In:
			if !ok {
				return p.Err
			}
		case <-ctx.Done():
			p.T.Fatal("the server did not close the connection")
		}
	}
}

// Show is a message as its JSON, for failures.
func Show(m wsmsg.Message) string {
	b, err := wsmsg.Append(nil, &m)
	if err != nil {
		return string(m.Type) + " (" + err.Error() + ")"
	}
	return string(b)
}

// Info is a string member of a status object ("" if absent).
func Info(info any, key string) string {
	o, _ := info.(*amf.Object)
	if o == nil {
		return ""
	}
	return o.String(key)
}
