// Package rtmpclient is fmsgo's own RTMP client: connect with any arguments in AMF0 or AMF3,
// calls both ways, publish and play, and raw chunk/byte writes for hostile tests. The tests, the
// load generator and (later) the edge and the server-side NetConnection use it.
//
// It favours simplicity over throughput: one read goroutine per client owns the read side (chunk
// reassembly, protocol control, answers to calls); writes are serialized by a mutex and go out at
// once, each under a write deadline. Everything the server sends that is not an answer to a call
// is delivered on Events(), a bounded channel: the read goroutine blocks while it is full, so a
// caller that plays media must drain it (or Close the client).
package rtmpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Options shape the connection and its connect command. The zero value is a plain AMF0 client.
type Options struct {
	// ObjectEncoding is 0 (AMF0 commands, type 20) or 3 (AMF3 layout, type 17); it is also sent
	// as connect's objectEncoding.
	ObjectEncoding int
	// ConnectArgs are extra connect arguments after the command object (they reach the app's
	// onConnect as its arguments).
	ConnectArgs []any
	// Command overrides or adds command-object properties (flashVer, swfUrl, pageUrl, type, ...),
	// in order; a nil Value still sends the key (as null).
	Command []amf.Prop
	// Timeout bounds the dial, the handshake, connect's answer and every write; default 10 s.
	Timeout time.Duration
	// ChunkSize is announced right after the handshake and used for our writes; default 4096.
	ChunkSize uint32
	// EventBuffer is the capacity of Events(); default 4096.
	EventBuffer int
	// LocalAddr, if set, is the source address to dial from (load tests spread over 127.0.0.x).
	LocalAddr net.Addr
}

// Defaults for Options' zero fields.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultChunkSize   = 4096
	DefaultEventBuffer = 4096
	DefaultPort        = "1935"
)

// EventKind classifies what the server sent.
type EventKind int

// Event kinds.
const (
	EventStatus       EventKind = iota + 1 // onStatus on a stream or on the connection (Info)
	EventCommand                           // a command or call without a handler (Name, Args)
	EventData                              // a data message (Name, Args, raw Payload)
	EventMedia                             // audio or video (TypeID, Timestamp, Payload copy)
	EventUserControl                       // user control other than ping (UserControl)
	EventSharedObject                      // shared-object message, undecoded (TypeID, Payload)
)

// Event is one thing the server sent that is not an answer to a call. Payload is the client's
// own copy. When the connection ends the channel is closed; Err says why.
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

// StatusError is an _error answer (a rejected connect, a failed call) or an error-level onStatus
// (a refused publish), with the server's info object.
type StatusError struct{ Info *amf.Object }

func (e *StatusError) Error() string {
	if e.Info == nil {
		return "rtmp: error with no info object"
	}
	return fmt.Sprintf("rtmp: %s: %s", e.Code(), e.Description())
}

// Code is the info object's code (e.g. NetConnection.Connect.Rejected).
func (e *StatusError) Code() string { return e.str("code") }

// Description is the info object's description.
func (e *StatusError) Description() string { return e.str("description") }

// Application is the value an app attached to a rejection (FMS's info.application), or nil.
func (e *StatusError) Application() any {
	if e.Info == nil {
		return nil
	}
	v, _ := e.Info.Get("application")
	return v
}

func (e *StatusError) str(key string) string {
	if e.Info == nil {
		return ""
	}
	return e.Info.String(key)
}

// Handler answers a server→client call: the value becomes _result, an error becomes _error with
// NetConnection.Call.Failed (when the server asked for an answer, i.e. txn != 0).
type Handler func(args []any) (any, error)

// ErrClosed is returned by calls and event waits once the connection has ended.
var ErrClosed = errors.New("rtmp: connection closed")

type answer struct {
	value any
	err   error
}

// Client is one RTMP client connection. Its methods are safe for concurrent use.
type Client struct {
	nc  net.Conn
	opt Options

	wmu  sync.Mutex // serializes writes; guards w, bufs, enc
	w    *chunk.Writer
	bufs net.Buffers
	enc  amf.Encoder

	mu       sync.Mutex // guards pending, txn, handlers
	pending  map[float64]chan answer
	txn      float64
	handlers map[string]Handler

	events    chan Event
	quit      chan struct{} // closed by Close: unblocks an event send
	quitOnce  sync.Once
	done      chan struct{} // closed when the read goroutine ends; err is then set
	err       error
	connected *amf.Object
}

// Dial connects to rtmp://host[:port]/app[/instance][?query], runs the handshake and connect,
// and returns once connect was answered. A rejection is a *StatusError carrying the server's
// info object. ctx bounds the whole dial, as does opt.Timeout.
func Dial(ctx context.Context, rawURL string, opt Options) (*Client, error) {
	t, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opt = withDefaults(opt)
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	d := net.Dialer{LocalAddr: opt.LocalAddr}
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: dial %s: %w", t.Addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // Go's default, stated: commands must not wait for Nagle
	}
	c := newClient(nc, opt)
	if err := c.start(ctx, t); err != nil {
		c.Close()
		return nil, fmt.Errorf("rtmp: connect %s: %w", rawURL, err)
	}
	return c, nil
}

func withDefaults(opt Options) Options {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.ChunkSize == 0 {
		opt.ChunkSize = DefaultChunkSize
	}
	if opt.EventBuffer <= 0 {
		opt.EventBuffer = DefaultEventBuffer
	}
	return opt
}

// Target is a parsed RTMP URL.
type Target struct {
	Addr  string // host:port to dial
	App   string // connect's app: path without the leading slash, plus "?query" if any
	TcURL string // connect's tcUrl: the URL as given
}

// ParseURL splits rtmp://host[:port]/app[/instance][?query] into what Dial needs; the port
// defaults to 1935.
func ParseURL(rawURL string) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Target{}, fmt.Errorf("rtmp: bad url: %w", err)
	}
	if u.Scheme != "rtmp" || u.Host == "" {
		return Target{}, fmt.Errorf("rtmp: bad url %q: want rtmp://host[:port]/app[/instance]", rawURL)
	}
	t := Target{Addr: u.Host, App: strings.TrimPrefix(u.EscapedPath(), "/"), TcURL: rawURL}
	if u.Port() == "" {
		t.Addr = net.JoinHostPort(u.Hostname(), DefaultPort)
	}
	if app, err := url.PathUnescape(t.App); err == nil {
		t.App = app
	}
	if u.RawQuery != "" {
		t.App += "?" + u.RawQuery
	}
	if t.App == "" {
		return Target{}, fmt.Errorf("rtmp: bad url %q: no application", rawURL)
	}
	return t, nil
}

func newClient(nc net.Conn, opt Options) *Client {
	return &Client{nc: nc, opt: opt, w: chunk.NewWriter(), pending: map[float64]chan answer{},
		handlers: map[string]Handler{}, events: make(chan Event, opt.EventBuffer),
		quit: make(chan struct{}), done: make(chan struct{}), txn: 1}
}

// start runs the handshake, starts the read goroutine, announces our chunk size and connects.
func (c *Client) start(ctx context.Context, t Target) error {
	br := bufio.NewReaderSize(c.nc, 64<<10)
	if err := c.handshake(ctx, br); err != nil {
		return err
	}
	go c.readLoop(br)
	if err := c.writeMsg(2, 0, rtmpmsg.TypeSetChunkSize, 0, rtmpmsg.AppendSetChunkSize(nil, c.opt.ChunkSize)); err != nil {
		return err
	}
	c.wmu.Lock()
	c.w.SetChunkSize(c.opt.ChunkSize)
	c.wmu.Unlock()
	v, err := c.callWith(ctx, "connect", c.connectObject(t), c.opt.ConnectArgs...)
	if err != nil {
		return err
	}
	c.connected, _ = v.(*amf.Object)
	return nil
}

// connectObject is a Flash-Player-like command object, with Options.Command applied on top.
func (c *Client) connectObject(t Target) *amf.Object {
	o := &amf.Object{Props: []amf.Prop{
		{Key: "app", Value: t.App}, {Key: "flashVer", Value: "LNX 9,0,124,2"}, {Key: "swfUrl", Value: ""},
		{Key: "tcUrl", Value: t.TcURL}, {Key: "fpad", Value: false}, {Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 4071.0}, {Key: "videoCodecs", Value: 252.0},
		{Key: "videoFunction", Value: 1.0}, {Key: "pageUrl", Value: ""},
		{Key: "objectEncoding", Value: float64(c.opt.ObjectEncoding)},
	}}
	for _, p := range c.opt.Command {
		o.Set(p.Key, p.Value)
	}
	return o
}

// ConnectInfo is the info object of connect's _result (code NetConnection.Connect.Success, and
// objectEncoding, application data, ...); nil if the server sent none.
func (c *Client) ConnectInfo() *amf.Object { return c.connected }

// ObjectEncoding is the encoding the client asked for and uses for its commands.
func (c *Client) ObjectEncoding() int { return c.opt.ObjectEncoding }

// Events delivers everything that is not an answer to a call, in arrival order. The read
// goroutine blocks while it is full (so nothing is lost, and a stuck caller stalls the
// connection, like a slow real client); it is closed when the connection ends.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the reason the connection ended (nil while it runs; ErrClosed after Close).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the connection and waits for the read goroutine to finish.
func (c *Client) Close() error {
	var err error
	c.quitOnce.Do(func() {
		close(c.quit)
		err = c.nc.Close()
	})
	<-c.done
	return err
}

// LocalAddr is the client's socket address.
func (c *Client) LocalAddr() net.Addr { return c.nc.LocalAddr() }
