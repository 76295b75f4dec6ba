package webclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// result runs one request and waits for its outcome.
func result(t *testing.T, c *Client, req Request) (*Response, error) {
	t.Helper()
	type out struct {
		r   *Response
		err error
	}
	ch := make(chan out, 1)
	if err := c.Go(context.Background(), req, func(r *Response, err error) { ch <- out{r, err} }); err != nil {
		return nil, err
	}
	select {
	case o := <-ch:
		return o.r, o.err
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome")
		return nil, nil
	}
}

// TestBounds: the answer's size cap (announced or streamed), the time limit, the scheme check
// and the bound on requests in flight.
func TestBounds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2000)))
		case "/stream":
			w.Header().Set("Content-Type", "text/plain")
			for i := 0; i < 20; i++ {
				w.Write([]byte(strings.Repeat("y", 100)))
				w.(http.Flusher).Flush()
			}
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	c := New(nil, Config{Timeout: 200 * time.Millisecond, MaxBody: 1000, MaxInFlight: 1})
	if r, err := result(t, c, Request{URL: srv.URL + "/"}); err != nil || string(r.Body) != "ok" || r.Status != 200 {
		t.Fatalf("plain: %v %v", r, err)
	}
	for _, p := range []string{"/big", "/stream"} {
		if _, err := result(t, c, Request{URL: srv.URL + p}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", p, err)
		}
	}
	start := time.Now()
	if _, err := result(t, c, Request{URL: srv.URL + "/hang"}); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("hang: %v after %v", err, time.Since(start))
	}
	for _, u := range []string{"ftp://127.0.0.1/", "file:///etc/passwd", "/relative", "http://"} {
		if err := c.Go(context.Background(), Request{URL: u}, func(*Response, error) {}); !errors.Is(err, ErrScheme) {
			t.Errorf("%q: %v, want ErrScheme", u, err)
		}
	}
	slow := New(nil, Config{Timeout: 5 * time.Second, MaxInFlight: 1})
	done := make(chan struct{})
	if err := slow.Go(context.Background(), Request{URL: srv.URL + "/hang"}, func(*Response, error) { close(done) }); err != nil {
		t.Fatal(err)
	}
	if err := slow.Go(context.Background(), Request{URL: srv.URL + "/"}, func(*Response, error) {}); !errors.Is(err, ErrBusy) {
		t.Errorf("second request: %v, want ErrBusy", err)
	}
	release <- struct{}{}
	<-done
}
