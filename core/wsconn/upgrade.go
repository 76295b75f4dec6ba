package wsconn

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/coder/websocket"
	"github.com/fmsgo/fmsgo/core/amf"
)

// AppPrefix is the path under which the web listener serves app clients: /fms/APP[/INSTANCE].
const AppPrefix = "/fms/"

// Request is what the upgrade request of an app client says about it: where it connects and
// what the app's Client shows of it.
type Request struct {
	// App is the connect's app field, "APP[/INSTANCE][?QUERY]", from the URL's path and query.
	App string
	// TcURL is the URL as an RTMP client's tcUrl: ws://HOST/fms/APP[/INSTANCE][?QUERY].
	TcURL string
	// Protocol is "ws", or "wss" over TLS.
	Protocol string
	// RemoteAddr is the peer's host:port, IP its host.
	RemoteAddr, IP string
	// Agent, Referrer and PageURL are the User-Agent, Referer and Origin headers.
	Agent, Referrer, PageURL string
}

// ErrNoApp is an app client's upgrade without an app in its path.
var ErrNoApp = errors.New("wsconn: no application in the path: " + AppPrefix + "APP[/INSTANCE]")

// AcceptApp upgrades r to a WebSocket of subprotocol (an app client's request: its path is
// AppPrefix + APP[/INSTANCE]). The page's Origin must be the server's own host or match one of
// origins (path.Match patterns of the host or of scheme://host; "*": any page); a client that is
// not a browser sends none and is let in. On an error the request has been answered (404, 403,
// 426) or the WebSocket closed (1008 without the subprotocol).
func AcceptApp(w http.ResponseWriter, r *http.Request, subprotocol string, origins []string) (*websocket.Conn, Request, error) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, AppPrefix), "/")
	if path == "" {
		http.Error(w, ErrNoApp.Error(), http.StatusNotFound)
		return nil, Request{}, ErrNoApp
	}
	ws, err := websocket.Accept(w, r, acceptOptions(origins, subprotocol))
	if err != nil {
		return nil, Request{}, err
	}
	if ws.Subprotocol() != subprotocol {
		_ = ws.Close(websocket.StatusPolicyViolation, "subprotocol "+subprotocol+" required")
		return nil, Request{}, errors.New("wsconn: client without the subprotocol " + subprotocol)
	}
	return ws, requestOf(r, path), nil
}

// acceptOptions let in the pages of origins (see AcceptApp) with the subprotocols.
func acceptOptions(origins []string, subprotocols ...string) *websocket.AcceptOptions {
	opts := &websocket.AcceptOptions{Subprotocols: subprotocols, OriginPatterns: origins}
	if slices.Contains(origins, "*") {
		opts.InsecureSkipVerify, opts.OriginPatterns = true, nil
	}
	return opts
}

// TunnelSubprotocol is websockify's name for raw bytes in binary frames; a client that asks for
// no subprotocol is served the same.
const TunnelSubprotocol = "binary"

// AcceptTunnel upgrades r to a byte stream in binary frames of at most maxFrame bytes
// (websockify's framing), with AcceptApp's Origin rule: a TCP protocol (RTMP) carried by a
// browser or a socket tunnel.
func AcceptTunnel(w http.ResponseWriter, r *http.Request, origins []string, maxFrame int64) (*Stream, error) {
	ws, err := websocket.Accept(w, r, acceptOptions(origins, TunnelSubprotocol))
	if err != nil {
		return nil, err
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return NewStream(ws, local, tcpAddr(r.RemoteAddr), maxFrame), nil
}

// tcpAddr is a peer's host:port as net/http gives it.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

func requestOf(r *http.Request, path string) Request {
	q := Request{App: path, Protocol: "ws", RemoteAddr: r.RemoteAddr, IP: r.RemoteAddr,
		Agent: r.UserAgent(), Referrer: r.Referer(), PageURL: r.Header.Get("Origin")}
	if r.TLS != nil {
		q.Protocol = "wss"
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		q.IP = host
	}
	if r.URL.RawQuery != "" {
		q.App += "?" + r.URL.RawQuery
	}
	q.TcURL = q.Protocol + "://" + r.Host + AppPrefix + q.App
	return q
}

// ConnectObject is the connect command object the request stands for: app, tcUrl, and
// objectEncoding 3 (a browser's values are AMF3's).
func (q Request) ConnectObject() *amf.Object {
	return &amf.Object{Props: []amf.Prop{{Key: "app", Value: q.App}, {Key: "tcUrl", Value: q.TcURL},
		{Key: "objectEncoding", Value: 3.0}}}
}
