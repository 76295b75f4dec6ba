package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// post is one request a receiver got.
type post struct {
	body   []byte
	header http.Header
	events []map[string]any
}

// receiver is a real HTTP server that answers status(n) to its nth request (from 1) and hands
// every request to got.
type receiver struct {
	*httptest.Server
	n      atomic.Int64
	status func(n int64) int
	got    chan post
}

func newReceiver(t *testing.T, status func(n int64) int) *receiver {
	r := &receiver{status: status, got: make(chan post, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		p := post{body: b, header: req.Header.Clone()}
		if err := json.Unmarshal(b, &p.events); err != nil {
			t.Errorf("body is not a JSON array of objects: %v: %s", err, b)
		}
		r.got <- p
		code := http.StatusOK
		if r.status != nil {
			code = r.status(r.n.Add(1))
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

// next returns the next request or fails the test after a while.
func (r *receiver) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-r.got:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got no request")
		return post{}
	}
}

// events collects n events, over as many requests as it takes.
func (r *receiver) events(t *testing.T, n int) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for len(evs) < n {
		evs = append(evs, r.next(t).events...)
	}
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	return evs
}

// startHost runs m under a real plugin.Host, as the origin does.
func startHost(t *testing.T, m *Module) *plugin.Host {
	t.Helper()
	var sel plugin.Selection
	sel.Add(m)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

func stopHost(t *testing.T, h *plugin.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPostsEveryEventInOrderWithStableFields(t *testing.T) {
	r := newReceiver(t, nil)
	h := startHost(t, &Module{URLs: []string{r.URL}, BatchMax: 4})
	h.Emit(plugin.Event{Kind: plugin.EvConnect, App: "live", Instance: "_definst_", ClientID: "c1", IP: "127.0.0.1",
		Protocol: "rtmp", Agent: "FMLE/3.0", Referrer: "http://swf/x.swf", PageURL: "http://site/p", Edge: "e1",
		Status: "NetConnection.Connect.Success"})
	for i := 0; i < 20; i++ {
		h.Emit(plugin.Event{Kind: plugin.EvPublish, ClientID: "c1", Stream: "s"})
	}
	h.Emit(plugin.Event{Kind: plugin.EvDisconnect, ClientID: "c1", BytesIn: 10, BytesOut: 20, Duration: 1500 * time.Millisecond})
	evs := r.events(t, 22)
	stopHost(t, h)
	want := []string{"kind", "time", "seq", "app", "instance", "client_id", "ip", "protocol", "agent", "referrer",
		"page_url", "edge", "stream", "status", "reason", "bytes_in", "bytes_out", "duration_ms"}
	for _, k := range want {
		if _, ok := evs[0][k]; !ok {
			t.Errorf("field %q missing: %v", k, evs[0])
		}
	}
	if len(evs[0]) != len(want) {
		t.Errorf("fields %v, want exactly %v", evs[0], want)
	}
	if evs[0]["kind"] != "connect" || evs[0]["agent"] != "FMLE/3.0" || evs[0]["edge"] != "e1" || evs[0]["status"] != "NetConnection.Connect.Success" {
		t.Errorf("connect event %v", evs[0])
	}
	if _, err := time.Parse(time.RFC3339Nano, evs[0]["time"].(string)); err != nil || !strings.HasSuffix(evs[0]["time"].(string), "Z") {
		t.Errorf("time %v: not RFC 3339 in UTC (%v)", evs[0]["time"], err)
	}
	for i, ev := range evs {
		if seq := ev["seq"].(float64); seq != float64(i+1) {
			t.Fatalf("event %d has seq %v: out of order or lost", i, seq)
		}
	}
	last := evs[21]
	if last["kind"] != "disconnect" || last["bytes_in"] != 10.0 || last["bytes_out"] != 20.0 || last["duration_ms"] != 1500.0 {
		t.Errorf("disconnect event %v", last)
	}
}

func TestRetriesAfterA500(t *testing.T) {
	r := newReceiver(t, func(n int64) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	m := &Module{URLs: []string{r.URL}, Backoff: 10 * time.Millisecond, Attempts: 3}
	h := startHost(t, m)
	h.Emit(plugin.Event{Kind: plugin.EvConnect, ClientID: "c1"})
	for i := 0; i < 3; i++ {
		if p := r.next(t); len(p.events) != 1 || p.events[0]["seq"] != 1.0 {
			t.Fatalf("attempt %d posted %s", i+1, p.body)
		}
	}
	stopHost(t, h)
	if st := m.Stats(); st.Delivered != 1 || st.Failed != 0 || st.Posts != 3 {
		t.Fatalf("stats %+v, want 1 delivered after 3 posts", st)
	}
}

func TestGivesUpAfterItsAttemptsAndOnA400(t *testing.T) {
	for _, tc := range []struct {
		status, posts int
	}{{http.StatusServiceUnavailable, 2}, {http.StatusBadRequest, 1}, {http.StatusFound, 1}} {
		r := newReceiver(t, func(int64) int { return tc.status })
		m := &Module{URLs: []string{r.URL}, Backoff: time.Millisecond, Attempts: 2}
		h := startHost(t, m)
		h.Emit(plugin.Event{Kind: plugin.EvConnect})
		for i := 0; i < tc.posts; i++ {
			r.next(t)
		}
		stopHost(t, h)
		if st := m.Stats(); st.Delivered != 0 || st.Failed != 1 || st.Posts != uint64(tc.posts) {
			t.Errorf("answer %d: stats %+v, want 1 failed after %d posts", tc.status, st, tc.posts)
		}
	}
}

func TestSignatureVerifies(t *testing.T) {
	secret := []byte("s3cr3t-for-the-receiver")
	r := newReceiver(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.key"), append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Module{URLs: []string{r.URL}, SecretFile: "hook.key"}
	var sel plugin.Selection
	sel.Add(m)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop(), ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	h.Emit(plugin.Event{Kind: plugin.EvPlay, Stream: "s"})
	p := r.next(t)
	stopHost(t, h)
	got := p.header.Get(SignatureHeader)
	if !hmac.Equal([]byte(got), []byte(Sign(secret, p.body))) {
		t.Fatalf("signature %q does not verify over %s", got, p.body)
	}
	if hmac.Equal([]byte(got), []byte(Sign([]byte("other"), p.body))) || !strings.HasPrefix(got, "sha256=") {
		t.Fatalf("signature %q: verifies under another secret, or has no sha256= prefix", got)
	}
	plain := newReceiver(t, nil)
	h = startHost(t, &Module{URLs: []string{plain.URL}})
	h.Emit(plugin.Event{Kind: plugin.EvPlay})
	if s := plain.next(t).header.Get(SignatureHeader); s != "" {
		t.Fatalf("signed without a secret: %q", s)
	}
	stopHost(t, h)
}

func TestAHangingReceiverNeverBlocksAndStopIsBounded(t *testing.T) {
	release := make(chan struct{})
	inflight := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case inflight <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	ok := newReceiver(t, nil)
	const timeout = 300 * time.Millisecond
	m := &Module{URLs: []string{hang.URL, ok.URL}, Timeout: timeout, Attempts: 5, Backoff: 50 * time.Millisecond, BatchMax: 2, Queue: 4}
	h := startHost(t, m)
	const n = 200
	for i := 0; i < n; i++ { // Emit never waits, however stuck the receiver
		h.Emit(plugin.Event{Kind: plugin.EvConnect, ClientID: "c"})
	}
	st := h.EventStats()
	if len(st) != 1 || st[0].Dropped == 0 || st[0].Dropped+st[0].Handled+uint64(st[0].Queued) > n {
		t.Fatalf("host stats %+v: want drops counted", st)
	}
	ok.next(t) // the quick receiver got the first events
	<-inflight // and the hanging one has a POST in flight
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	h.Stop(ctx)
	// The host waits for delivery until ctx ends, then Stop waits at most timeout: well within 10x.
	if d := time.Since(start); d > 10*timeout {
		t.Fatalf("Stop took %v with a hanging receiver", d)
	}
	if ms := m.Stats(); ms.Failed+ms.Lost == 0 {
		t.Fatalf("module stats %+v: the hanging URL's events should be failed or lost", ms)
	}
}

func TestCredentialsNeverLeaveTheServer(t *testing.T) {
	p := NewPayload(&plugin.Event{Kind: plugin.EvPlay, Stream: "cam?token=abc",
		PageURL: "https://user:pw@site/p?Token=abc&room=1&api_key=k&sig=x", Referrer: "http://swf/a.swf?secret=1"})
	if p.Stream != "cam" || p.PageURL != "https://site/p?room=1" || p.Referrer != "http://swf/a.swf" {
		t.Fatalf("payload %+v", p)
	}
	if got := redactURL("https://u:p@hooks.example/x?key=1&a=b"); got != "https://hooks.example/x?a=b" {
		t.Fatalf("logged URL %q", got)
	}
	if got := stripSecrets("http://a/%zz?token=1"); got != "" {
		t.Fatalf("unparsable URL kept: %q", got)
	}
}

func TestValidateRefusesBadConfig(t *testing.T) {
	for _, m := range []*Module{
		{},
		{URLs: []string{"ftp://x/"}},
		{URLs: []string{"http://"}},
		{URLs: []string{"http://x/"}, Attempts: 101},
		{URLs: []string{"http://x/"}, BatchMax: 20000},
		{URLs: []string{"http://x/"}, Timeout: -1},
		{URLs: []string{"http://x/"}, Secret: "a", SecretFile: "b"},
	} {
		if err := m.Provision(plugin.Context{Log: zerolog.Nop(), ConfigDir: t.TempDir()}); err == nil {
			if err := m.Validate(); err == nil {
				t.Errorf("%+v: accepted", m)
			}
		}
	}
}

type conf struct {
	Modules plugin.Tables    `toml:"modules"`
	Sel     plugin.Selection `toml:"-"`
}

func (c *conf) DecodeDeferred(md *toml.MetaData) (err error) {
	c.Sel, err = plugin.DecodeTables(md, c.Modules, "modules")
	return err
}

func TestConfigTable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "origin.toml")
	text := "[modules.\"events.webhook\"]\nurls = [\"http://127.0.0.1:9/hook\"]\ntimeout = \"2s\"\nbackoff = \"100ms\"\nattempts = 4\nbatch_max = 10\nqueue = 64\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var c conf
	if err := config.Load(p, &c); err != nil {
		t.Fatal(err)
	}
	mods := c.Sel.Modules()
	m, ok := mods[0].(*Module)
	if len(mods) != 1 || !ok || m.Timeout != 2*time.Second || m.Backoff != 100*time.Millisecond || m.Attempts != 4 ||
		m.BatchMax != 10 || m.EventQueueLen() != 64 || m.URLs[0] != "http://127.0.0.1:9/hook" {
		t.Fatalf("decoded %+v", mods)
	}
}

// TestKeepsDeliveringOnceTheServerCtxEnds: the server cancels the sinks' ctx when its shutdown
// begins; the sessions it drains then still have their events delivered, in order.
func TestKeepsDeliveringOnceTheServerCtxEnds(t *testing.T) {
	release := make(chan struct{})
	r := newReceiver(t, func(n int64) int {
		if n == 1 {
			<-release // the first POST is slow: the module's queue fills behind it
		}
		return http.StatusOK
	})
	m := &Module{URLs: []string{r.URL}, BatchMax: 1}
	var sel plugin.Selection
	sel.Add(m)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.Start(ctx)
	cancel()
	for i := 0; i < 6; i++ {
		h.Emit(plugin.Event{Kind: plugin.EvDisconnect, ClientID: "c"})
	}
	close(release)
	for i, ev := range r.events(t, 6) {
		if ev["seq"] != float64(i+1) {
			t.Fatalf("event %d: seq %v", i, ev["seq"])
		}
	}
	stopHost(t, h)
	if st := m.Stats(); st.Delivered != 6 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBatchesABurst: a burst right after a POST is gathered into few POSTs, in order.
func TestBatchesABurst(t *testing.T) {
	r := newReceiver(t, nil)
	m := &Module{URLs: []string{r.URL}, BatchWait: 200 * time.Millisecond}
	h := startHost(t, m)
	for i := 0; i < 50; i++ {
		h.Emit(plugin.Event{Kind: plugin.EvConnect, ClientID: "c"})
	}
	for i, ev := range r.events(t, 50) {
		if ev["seq"] != float64(i+1) {
			t.Fatalf("event %d: seq %v", i, ev["seq"])
		}
	}
	stopHost(t, h)
	if st := m.Stats(); st.Posts > 3 {
		t.Fatalf("50 events in %d POSTs: not batched", st.Posts)
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := &plugin.Event{Kind: plugin.EvDisconnect, Time: time.Now(), Seq: 12345, App: "live", Instance: "_definst_",
		ClientID: "123456", IP: "203.0.113.9", Protocol: "rtmp", Agent: "FMLE/3.0 (compatible; FMSc/1.0)",
		PageURL: "https://site.example/watch?room=7", Status: "NetConnection.Connect.Closed", BytesIn: 1 << 20, BytesOut: 1 << 24,
		Duration: 93 * time.Second}
	b.ReportAllocs()
	for b.Loop() {
		encodeEvent(ev)
	}
}
