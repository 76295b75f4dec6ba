// Package rtmpclient is fmsgo's own RTMP client: connect with any arguments in AMF0 or AMF3,
// calls both ways, publish and play. The tests, the load generator and (later) the edge and the
// server-side NetConnection use it. It favours simplicity over throughput: one read goroutine,
// writes serialized by a mutex.
package rtmpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Options shape the connect.
type Options struct {
	ObjectEncoding int        // 0 (AMF0) or 3 (AMF3 commands, type 17)
	ConnectArgs    []any      // extra connect arguments (reach application.onConnect)
	Command        []amf.Prop // command-object properties that override or add to the defaults
	Timeout        time.Duration
	ChunkSize      uint32 // announced after the handshake; default 4096
	EventBuffer    int    // capacity of Events(); default 4096
	LocalAddr      net.Addr
}

// EventKind classifies what the server sent.
type EventKind int

// Event kinds.
const (
	EventStatus      EventKind = iota + 1 // onStatus on a stream (Info)
	EventCommand                          // another command or call from the server (Name, Args)
	EventData                             // a data message (Name, Args)
	EventMedia                            // audio or video (TypeID, Timestamp, Payload)
	EventUserControl                      // user control (UserControl)
)

// Event is one thing the server sent that is not an answer to a call.
type Event struct {
	Kind        EventKind
	StreamID    uint32
	TypeID      uint8
	Timestamp   uint32
	Name        string
	Args        []any
	Info        *amf.Object
	Payload     []byte
	UserControl rtmpmsg.UserControl
}

// StatusError is an _error answer (or a failed onStatus) with its info object.
type StatusError struct{ Info *amf.Object }

func (e *StatusError) Error() string {
	if e.Info == nil {
		return "rtmp: error with no info"
	}
	return fmt.Sprintf("rtmp: %s: %s", e.Info.String("code"), e.Info.String("description"))
}

// Code is the info object's code.
func (e *StatusError) Code() string { return e.Info.String("code") }

// Handler answers a server→client call.
type Handler func(args []any) (any, error)

type answer struct {
	value any
	err   error
}

// Client is one RTMP client connection.
type Client struct {
	nc  net.Conn
	opt Options

	wmu  sync.Mutex
	w    *chunk.Writer
	bufs net.Buffers
	enc  amf.Encoder

	mu       sync.Mutex
	pending  map[float64]chan answer
	txn      float64
	handlers map[string]Handler

	events      chan Event
	done        chan struct{}
	err         error
	connectInfo *amf.Object
}

// Dial connects, handshakes and sends connect; it returns once connect was answered. A rejection
// is a *StatusError carrying the server's info object.
func Dial(ctx context.Context, rawURL string, opt Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host += ":1935"
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.ChunkSize == 0 {
		opt.ChunkSize = 4096
	}
	if opt.EventBuffer <= 0 {
		opt.EventBuffer = 4096
	}
	d := net.Dialer{Timeout: opt.Timeout, LocalAddr: opt.LocalAddr}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c := newClient(nc, opt)
	if err := c.start(ctx, u); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func newClient(nc net.Conn, opt Options) *Client {
	return &Client{nc: nc, opt: opt, w: chunk.NewWriter(), pending: map[float64]chan answer{},
		handlers: map[string]Handler{}, events: make(chan Event, opt.EventBuffer), done: make(chan struct{}), txn: 1}
}

func (c *Client) start(ctx context.Context, u *url.URL) error {
	_ = c.nc.SetDeadline(time.Now().Add(c.opt.Timeout))
	br := bufio.NewReaderSize(c.nc, 64<<10)
	if err := rtmpconn.ClientHandshake(struct {
		io.Reader
		io.Writer
	}{br, c.nc}); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	_ = c.nc.SetDeadline(time.Time{})
	go c.readLoop(br)
	if err := c.writeMsg(2, 0, rtmpmsg.TypeSetChunkSize, 0, rtmpmsg.AppendSetChunkSize(nil, c.opt.ChunkSize)); err != nil {
		return err
	}
	c.wmu.Lock()
	c.w.SetChunkSize(c.opt.ChunkSize)
	c.wmu.Unlock()
	app := strings.TrimPrefix(u.Path, "/")
	if u.RawQuery != "" {
		app += "?" + u.RawQuery
	}
	tc := *u
	tc.RawQuery = ""
	cmdObj := c.connectObject(app, tc.String())
	ctx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	defer cancel()
	v, err := c.callWith(ctx, "connect", cmdObj, c.opt.ConnectArgs...)
	if err != nil {
		return err
	}
	c.connectInfo, _ = v.(*amf.Object)
	return nil
}

func (c *Client) connectObject(app, tcURL string) *amf.Object {
	o := &amf.Object{Props: []amf.Prop{
		{Key: "app", Value: app}, {Key: "flashVer", Value: "LNX 9,0,124,2"}, {Key: "swfUrl", Value: ""},
		{Key: "tcUrl", Value: tcURL}, {Key: "fpad", Value: false}, {Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 4071.0}, {Key: "videoCodecs", Value: 252.0}, {Key: "videoFunction", Value: 1.0},
		{Key: "pageUrl", Value: ""}, {Key: "objectEncoding", Value: float64(c.opt.ObjectEncoding)},
	}}
	for _, p := range c.opt.Command {
		o.Set(p.Key, p.Value)
	}
	return o
}

// ConnectInfo is the info object of connect's _result.
func (c *Client) ConnectInfo() *amf.Object { return c.connectInfo }

// ObjectEncoding is what the client asked for.
func (c *Client) ObjectEncoding() int { return c.opt.ObjectEncoding }

// Events delivers everything that is not an answer. The read loop blocks while it is full, so a
// caller that expects many events must drain it.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the reason the connection ended (nil while it runs).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the connection.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

// LocalAddr is the client's socket address.
func (c *Client) LocalAddr() net.Addr { return c.nc.LocalAddr() }

var errClosed = errors.New("rtmp: connection closed")
