// Package webclient makes the HTTP requests of app scripts (LoadVars, XML.load and, later,
// Flash Remoting) off the JS loop: each request runs on a goroutine of its own with a time
// limit and a cap on the answer's size, an app instance has a bounded number in flight, and the
// outcome is handed to a callback that the caller posts back onto its loop. The script never
// waits: FMS's LoadVars and XML answer through onLoad/onData.
package webclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxBody     = 4 << 20
	DefaultMaxInFlight = 16
	maxRedirects       = 5
)

// Errors a request ends with besides the transport's.
var (
	// ErrBusy: the instance already has MaxInFlight requests under way.
	ErrBusy = errors.New("webclient: too many requests in flight")
	// ErrTooLarge: the answer's body is longer than MaxBody.
	ErrTooLarge = errors.New("webclient: answer larger than the limit")
	// ErrScheme: only http and https URLs are fetched.
	ErrScheme = errors.New("webclient: only http:// and https:// URLs")
)

// Config bounds one instance's requests.
type Config struct {
	// Timeout is the whole exchange's limit: connecting, sending, the answer's headers and body.
	Timeout time.Duration
	// MaxBody caps the answer's body (bytes).
	MaxBody int64
	// MaxInFlight is how many requests may be under way at once.
	MaxInFlight int
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
}

// Request is one HTTP request.
type Request struct {
	Method string // GET when empty
	URL    string
	Header http.Header
	Body   []byte
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Client makes one app instance's requests. Clients share a Transport (its connection pool);
// each counts its own requests in flight. Safe from any goroutine.
type Client struct {
	hc   *http.Client
	cfg  Config
	busy atomic.Int32
}

// New returns a client over rt (nil: http.DefaultTransport) with cfg's bounds.
func New(rt http.RoundTripper, cfg Config) *Client {
	cfg.setDefaults()
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc := &http.Client{Transport: rt, Timeout: cfg.Timeout, CheckRedirect: checkRedirect}
	return &Client{hc: hc, cfg: cfg}
}

// checkRedirect follows at most maxRedirects redirects, to http(s) URLs only.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("webclient: more than %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return ErrScheme
	}
	return nil
}

// Config returns the client's bounds (defaults applied).
func (c *Client) Config() Config { return c.cfg }

// InFlight is how many requests are under way.
func (c *Client) InFlight() int { return int(c.busy.Load()) }

// Go starts req on a goroutine of its own, ended by ctx or the client's Timeout, and calls done
// once, from that goroutine, with the answer or the error. A request that cannot start (a bad
// URL, ErrBusy) returns its error at once and done is not called.
func (c *Client) Go(ctx context.Context, req Request, done func(*Response, error)) error {
	hreq, err := c.build(ctx, req)
	if err != nil {
		return err
	}
	if int(c.busy.Add(1)) > c.cfg.MaxInFlight {
		c.busy.Add(-1)
		return ErrBusy
	}
	go func() {
		resp, err := c.do(hreq)
		c.busy.Add(-1) // before done: a script that sees the answer finds the slot free
		done(resp, err)
	}()
	return nil
}

// build checks the URL and makes the request.
func (c *Client) build(ctx context.Context, req Request) (*http.Request, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("webclient: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrScheme, req.URL)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("webclient: %w", err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	return hreq, nil
}

// do sends the request and reads the answer, at most MaxBody bytes of it.
func (c *Client) do(hreq *http.Request) (*Response, error) {
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.cfg.MaxBody {
		return &Response{Status: resp.StatusCode, Header: resp.Header}, fmt.Errorf("%w (%d > %d bytes)", ErrTooLarge, resp.ContentLength, c.cfg.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if err != nil {
		return out, fmt.Errorf("webclient: reading the answer: %w", err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		out.Body = nil
		return out, fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, c.cfg.MaxBody)
	}
	return out, nil
}
