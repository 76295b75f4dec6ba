package origin

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/origin/modules/accesslog"
	"github.com/fmsgo/fmsgo/origin/modules/webhook"
)

// hookReceiver is a real HTTP server that records every event posted to it, in arrival order.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []webhook.Payload
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var batch []webhook.Payload
		if err := json.NewDecoder(req.Body).Decode(&batch); err != nil {
			t.Errorf("webhook body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, batch...)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// session returns the kinds of one client's events ("kind:stream"), in arrival order, and
// whether their seq kept increasing.
func (r *hookReceiver) session(id string) (kinds string, ordered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	var last uint64
	ordered = true
	for _, ev := range r.events {
		if ev.ClientID == id {
			out = append(out, ev.Kind+":"+ev.Stream)
			ordered = ordered && ev.Seq > last
			last = ev.Seq
		}
	}
	return strings.Join(out, " "), ordered
}

// clientOf returns the client of the first event of kind.
func (r *hookReceiver) clientOf(kind string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Kind == kind {
			return ev.ClientID
		}
	}
	return ""
}

// readAccessLog returns the JSON lines of the access log.
func readAccessLog(t *testing.T, path string) []accesslog.Entry {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []accesslog.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e accesslog.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestWebhookAndAccessLogFollowRealClients: ffmpeg publishes, an ffmpeg player plays, both
// leave; the webhook receiver gets every event of each session in order, and the access log
// has a line per connection and per stream session with bytes and durations.
func TestWebhookAndAccessLogFollowRealClients(t *testing.T) {
	t.Parallel()
	hook := newHookReceiver(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	o := startOriginWith(t, func(c *Config) {
		c.Plugins.Add(&webhook.Module{URLs: []string{hook.URL}, Secret: "k"})
		c.Plugins.Add(&accesslog.Module{Path: logPath})
	}, "live")
	pub := ffmpegPublish(t, o.url("live/hooked"), 4)
	o.waitPublished(t, "live", "hooked")
	out := runTool(t, 20*time.Second, requireTool(t, "ffmpeg"), "-nostdin", "-rw_timeout", "8000000",
		"-i", o.url("live/hooked"), "-t", "1", "-f", "null", "-")
	if n := lastFrameCount(out); n == 0 {
		t.Fatalf("the player decoded nothing:\n%s", tail(out, 10))
	}
	select {
	case <-pub.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the publisher did not end")
	}
	pubID, playerID := hook.clientOf("publish"), hook.clientOf("play")
	if pubID == "" || playerID == "" || pubID == playerID {
		t.Fatalf("publisher %q, player %q", pubID, playerID)
	}
	want := map[string]string{
		pubID:    "connect: publish:hooked unpublish:hooked disconnect:",
		playerID: "connect: play:hooked stop:hooked disconnect:",
	}
	for id, w := range want {
		waitFor(t, 10*time.Second, "the webhook events of "+id, func() bool { k, _ := hook.session(id); return k == w })
		if _, ordered := hook.session(id); !ordered {
			t.Errorf("the events of %s arrived out of seq order", id)
		}
	}
	for _, st := range o.srv.plugins.EventStats() {
		if st.Dropped != 0 {
			t.Errorf("%s dropped %d events", st.ID, st.Dropped)
		}
	}

	var lines []accesslog.Entry
	waitFor(t, 10*time.Second, "4 access log lines", func() bool { lines = readAccessLog(t, logPath); return len(lines) >= 4 })
	got := map[string]accesslog.Entry{}
	for _, e := range lines {
		got[e.ClientID+" "+e.Event] = e
		if e.DurationMS <= 0 || e.App != "live" || e.Instance != DefaultInstance || e.IP == "" {
			t.Errorf("access log line without duration, app or ip: %+v", e)
		}
	}
	for _, k := range []string{pubID + " disconnect", playerID + " disconnect", pubID + " unpublish", playerID + " stop"} {
		e, ok := got[k]
		if !ok {
			t.Errorf("no access log line for %s: %+v", k, lines)
			continue
		}
		if e.Event == "disconnect" && (e.BytesIn == 0 || e.BytesOut == 0) {
			t.Errorf("connection line without bytes: %+v", e)
		}
		if e.Event != "disconnect" && e.Stream != "hooked" {
			t.Errorf("stream line without its stream: %+v", e)
		}
	}
	if p := got[pubID+" disconnect"]; p.BytesIn < 10_000 {
		t.Errorf("the publisher sent %d bytes in seconds of video", p.BytesIn)
	}
	if p := got[playerID+" disconnect"]; p.BytesOut < 10_000 {
		t.Errorf("the player got %d bytes in a second of video", p.BytesOut)
	}
}

// TestHangingWebhookNeverDelaysConnects: a receiver that never answers; connects still succeed,
// and the events the webhook cannot take are dropped and counted, not waited for.
func TestHangingWebhookNeverDelaysConnects(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	inflight := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		select {
		case inflight <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	o := startOriginWith(t, func(c *Config) {
		c.Plugins.Add(&webhook.Module{URLs: []string{hang.URL}, Timeout: 30 * time.Second, Queue: 8, BatchMax: 2})
	}, "live")
	t.Cleanup(func() { close(release) }) // runs before the origin's shutdown: it drains quickly

	dial(t, o.url("live"), rtmpclient.Options{}).Close()
	<-inflight // the first POST hangs from here on
	const n = 60
	for i := 0; i < n; i++ {
		c, err := rtmpclient.Dial(ctx5(t), o.url("live"), rtmpclient.Options{})
		if err != nil {
			t.Fatalf("connect %d with the webhook hanging: %v", i, err)
		}
		c.Close()
	}
	var st plugin.EventStats
	waitFor(t, 10*time.Second, "the events of every connect and disconnect", func() bool {
		st = hookStats(o)
		return st.Handled+st.Dropped+uint64(st.Queued)+1 >= 2*(n+1) // +1: the event the module holds
	})
	if st.Dropped == 0 {
		t.Fatalf("no drops counted with a hanging receiver: %+v", st)
	}
	t.Logf("hanging webhook: %+v", st)
}

func hookStats(o *testOrigin) plugin.EventStats {
	for _, st := range o.srv.plugins.EventStats() {
		if st.ID == webhook.ID {
			return st
		}
	}
	return plugin.EventStats{}
}
