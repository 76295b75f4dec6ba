package origin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/wsmsg"
)

// startWebOrigin starts an origin with -web on 127.0.0.1:0 too.
func startWebOrigin(t testing.TB, adjust func(*Config), apps ...string) *testOrigin {
	t.Helper()
	return startOriginWith(t, func(c *Config) {
		c.Web = "127.0.0.1:0"
		if adjust != nil {
			adjust(c)
		}
	}, apps...)
}

func (o *testOrigin) wsURL(path string) string {
	return "ws://" + o.srv.WebAddr().String() + "/fms/" + path
}

// wsPeer is a Go client speaking fmsgo.v1: its reader goroutine decodes what the server sends
// into in, closed when the connection ends.
type wsPeer struct {
	t   testing.TB
	c   *websocket.Conn
	in  chan wsmsg.Message
	err error // why in was closed (read once in is closed)
}

// dialWS opens a WebSocket to path with the fmsgo.v1 subprotocol.
func dialWS(t testing.TB, url string, header http.Header) *wsPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wsmsg.Subprotocol}, HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	p := &wsPeer{t: t, c: c, in: make(chan wsmsg.Message, 4096)}
	go p.read()
	t.Cleanup(func() { _ = c.CloseNow() })
	return p
}

func (p *wsPeer) read() {
	defer close(p.in)
	for {
		_, b, err := p.c.Read(context.Background())
		if err != nil {
			p.err = err
			return
		}
		m, err := wsmsg.DecodeServer(b, 0)
		if err != nil {
			p.err = err
			return
		}
		p.in <- m
	}
}

// connectWS dials path and connects with args, failing unless the app accepts.
func connectWS(t testing.TB, o *testOrigin, path string, args ...any) *wsPeer {
	t.Helper()
	p := dialWS(t, o.wsURL(path), nil)
	p.send(wsmsg.Message{Type: wsmsg.TypeConnect, Args: args})
	if m := p.next(ctx5(t)); m.Type != wsmsg.TypeConnected {
		t.Fatalf("connect %s: %s", path, show(m))
	}
	return p
}

func (p *wsPeer) send(m wsmsg.Message) {
	p.t.Helper()
	b, err := wsmsg.Append(nil, &m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(b)
}

func (p *wsPeer) sendRaw(b []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageText, b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// next is the server's next message.
func (p *wsPeer) next(ctx context.Context) wsmsg.Message {
	p.t.Helper()
	select {
	case m, ok := <-p.in:
		if !ok {
			p.t.Fatalf("connection ended: %v", p.err)
		}
		return m
	case <-ctx.Done():
		p.t.Fatal("no message in time")
	}
	return wsmsg.Message{}
}

// await skips messages until one matches.
func (p *wsPeer) await(ctx context.Context, what string, match func(wsmsg.Message) bool) wsmsg.Message {
	p.t.Helper()
	for {
		select {
		case m, ok := <-p.in:
			if !ok {
				p.t.Fatalf("connection ended waiting for %s: %v", what, p.err)
			}
			if match(m) {
				return m
			}
		case <-ctx.Done():
			p.t.Fatalf("no %s in time", what)
		}
	}
}

// closed waits for the server to end the connection and returns why (a websocket close status).
func (p *wsPeer) closed(ctx context.Context) error {
	p.t.Helper()
	for {
		select {
		case _, ok := <-p.in:
			if !ok {
				return p.err
			}
		case <-ctx.Done():
			p.t.Fatal("the server did not close the connection")
		}
	}
}

// call makes a call and waits for its answer (other messages are skipped).
func (p *wsPeer) call(ctx context.Context, id float64, method string, args ...any) wsmsg.Message {
	p.t.Helper()
	p.send(wsmsg.Message{Type: wsmsg.TypeCall, ID: id, Method: method, Args: args})
	return p.await(ctx, "answer to "+method, func(m wsmsg.Message) bool {
		return (m.Type == wsmsg.TypeResult || m.Type == wsmsg.TypeError) && m.ID == id
	})
}

// show prints a message as its JSON, for failures.
func show(m wsmsg.Message) string {
	b, err := wsmsg.Append(nil, &m)
	if err != nil {
		return string(m.Type) + " (" + err.Error() + ")"
	}
	return string(b)
}

// infoString is a member of a status object.
func infoString(info any, key string) string {
	o, _ := info.(*amf.Object)
	if o == nil {
		return ""
	}
	if v, ok := o.Get(key); ok {
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}
