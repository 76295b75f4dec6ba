package origin

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// dialFrom opens a TCP connection to addr from the local IP from (all of 127/8 is loopback).
func dialFrom(t *testing.T, from, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// expectRejected: a client from from is refused by the connection limits with a clear status:
// NetConnection.Connect.Rejected whose description contains want.
func expectRejected(t *testing.T, from, url, want string) {
	t.Helper()
	c, err := rtmpclient.Dial(ctx5(t), url, rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}})
	if err == nil {
		c.Close()
		t.Fatalf("client from %s connected, want it refused", from)
	}
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description(), want) {
		t.Fatalf("client from %s: %v, want NetConnection.Connect.Rejected saying %q", from, err, want)
	}
}

// legit connects from from with the project's client and makes a call.
func legit(t *testing.T, from, url string) *rtmpclient.Client {
	t.Helper()
	c := dial(t, url, rtmpclient.Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}})
	if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatalf("client from %s: %v", from, err)
	}
	return c
}

// scrape returns the origin's /metrics text.
func scrape(t *testing.T, o *testOrigin) string {
	t.Helper()
	resp, err := http.Get("http://" + o.srv.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantMetric(t *testing.T, text, line string) {
	t.Helper()
	if !strings.Contains(text, line+"\n") {
		t.Errorf("/metrics lacks %q", line)
	}
}

// TestConnectionLimitsOnByDefault: with the default configuration, one address gets 100
// connections; the 101st is refused with NetConnection.Connect.Rejected saying why, while another
// address still connects and calls, and /metrics counts the refusal.
func TestConnectionLimitsOnByDefault(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.HTTP = "127.0.0.1:0" })
	for i := range 100 {
		if _, err := dialFrom(t, "127.0.0.1", o.addr); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	waitFor(t, 10*time.Second, "100 connections served", func() bool { return o.srv.rtmp.Count() == 100 })
	expectRejected(t, "127.0.0.1", o.url("live"), "too many connections from your address")
	legit(t, "127.0.0.2", o.url("live"))
	wantMetric(t, scrape(t, o), `fmsgo_connections_refused_total{listener="rtmp",reason="per_address"} 1`)
	if d := DefaultConfig().Limits.Conn.HandshakeTimeout; d != 5*time.Second {
		t.Errorf("default handshake timeout %v, want 5s", d)
	}
}

// TestAcceptRateLimit: an address that opens connections faster than accept_rate after its
// accept_burst is refused; another address is not.
func TestAcceptRateLimit(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) {
		c.HTTP = "127.0.0.1:0"
		c.Limits.AcceptRate, c.Limits.AcceptBurst = 0.01, 3
	})
	for range 3 {
		legit(t, "127.0.0.1", o.url("live")).Close()
	}
	expectRejected(t, "127.0.0.1", o.url("live"), "too many new connections")
	legit(t, "127.0.0.2", o.url("live"))
	wantMetric(t, scrape(t, o), `fmsgo_connections_refused_total{listener="rtmp",reason="rate"} 1`)
}

// TestGlobalConnectionCap: past max_connections every address is refused.
func TestGlobalConnectionCap(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) {
		c.HTTP = "127.0.0.1:0"
		c.Limits.MaxConnections = 2
	})
	legit(t, "127.0.0.1", o.url("live"))
	legit(t, "127.0.0.2", o.url("live"))
	expectRejected(t, "127.0.0.3", o.url("live"), "the server is full")
	wantMetric(t, scrape(t, o), `fmsgo_connections_refused_total{listener="rtmp",reason="global"} 1`)
}

// TestHandshakeTimeout: a socket that sends nothing is closed at the handshake timeout.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.HandshakeTimeout = 300 * time.Millisecond })
	silent := rawConn(t, o.addr, false)
	expectClosed(t, silent, 5*time.Second)
	waitFor(t, 5*time.Second, "the log line of the handshake timeout", func() bool {
		return strings.Contains(o.logs.String(), "handshake") && strings.Contains(o.logs.String(), "i/o timeout")
	})
}
