package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/fmsgo/fmsgo/core/config"
	"github.com/rs/zerolog"
)

// testAuth is an auth module whose verdict its config decides.
type testAuth struct {
	Verdict string        `toml:"verdict"`
	Delay   time.Duration `toml:"delay"`
	Rename  string        `toml:"rename"`
	Panic   bool          `toml:"panic"`
	id      string
	started bool
}

func (a *testAuth) PluginInfo() ModuleInfo {
	id := a.id
	if id == "" {
		id = "test.auth"
	}
	return ModuleInfo{ID: id, New: func() Module { return new(testAuth) }}
}

func (a *testAuth) Validate() error {
	switch a.Verdict {
	case "", "accept", "reject", "pending", "redirect":
		return nil
	}
	return os.ErrInvalid
}

func (a *testAuth) Start() error { a.started = true; return nil }

func (a *testAuth) Authorize(ctx context.Context, req *Request) Decision {
	if a.Panic {
		panic("boom")
	}
	if a.Rename != "" {
		req.Stream = a.Rename
	}
	switch a.Verdict {
	case "reject":
		return Decision{Verdict: Reject, Reason: "no"}
	case "redirect":
		return Decision{Verdict: Redirect, RedirectURL: "rtmp://elsewhere/app"}
	case "pending":
		ch := make(chan Decision, 1)
		go func() {
			select {
			case <-time.After(a.Delay):
				ch <- Decision{Verdict: Accept}
			case <-ctx.Done():
			}
		}()
		return Decision{Verdict: Pending, Later: ch}
	}
	return Decision{Verdict: Accept}
}

func (a *testAuth) Budget() time.Duration { return 200 * time.Millisecond }

var _ Authorizer = (*testAuth)(nil)

func init() {
	Register(ModuleInfo{ID: "test.auth", New: func() Module { return new(testAuth) }})
}

func TestRegisterRefusesBadAndDuplicateIDs(t *testing.T) {
	for _, id := range []string{"noname", "Auth.token", "auth.", ".x", "auth.to-ken"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", id)
				}
			}()
			Register(ModuleInfo{ID: id, New: func() Module { return new(testAuth) }})
		}()
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "twice") {
			t.Errorf("duplicate ID: got %v", r)
		}
	}()
	Register(ModuleInfo{ID: "test.auth", New: func() Module { return new(testAuth) }})
}

// conf is a server config with a [modules] table, as origin.Config has.
type conf struct {
	RTMP    string    `toml:"rtmp"`
	Modules Tables    `toml:"modules"`
	Sel     Selection `toml:"-"`
}

func (c *conf) DecodeDeferred(md *toml.MetaData) (err error) {
	c.Sel, err = DecodeTables(md, c.Modules, "modules")
	return err
}

func loadConf(t *testing.T, text string) (*conf, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var c conf
	return &c, config.Load(p, &c)
}

func TestConfigSelectsModulesByID(t *testing.T) {
	c, err := loadConf(t, "rtmp = \":1\"\n[modules.\"test.auth\"]\nverdict = \"reject\"\n")
	if err != nil {
		t.Fatal(err)
	}
	mods := c.Sel.Modules()
	if len(mods) != 1 || mods[0].(*testAuth).Verdict != "reject" {
		t.Fatalf("selection %+v", mods)
	}
	_, err = loadConf(t, "rtmp = \":1\"\n[modules.\"test.auth\"]\nverdict = \"reject\"\nverdcit = 1\n")
	if err == nil || !strings.Contains(err.Error(), ":4:") || !strings.Contains(err.Error(), "verdcit") {
		t.Fatalf("unknown module key: want line 4, got %v", err)
	}
	_, err = loadConf(t, "\n[modules.\"test.nope\"]\n")
	if err == nil || !strings.Contains(err.Error(), `unknown module "test.nope"`) || !strings.Contains(err.Error(), "test.auth") {
		t.Fatalf("unknown module: got %v", err)
	}
}

func TestHostProvisionErrorsNameTheModule(t *testing.T) {
	var sel Selection
	sel.Add(&testAuth{Verdict: "maybe"})
	if _, err := NewHost(sel, Context{Log: zerolog.Nop()}); err == nil || !strings.Contains(err.Error(), "module test.auth: invalid config") {
		t.Fatalf("got %v", err)
	}
	sel = Selection{}
	sel.Add(&testAuth{})
	sel.Add(&testAuth{})
	if _, err := NewHost(sel, Context{Log: zerolog.Nop()}); err == nil || !strings.Contains(err.Error(), "selected twice") {
		t.Fatalf("got %v", err)
	}
}

func TestAuthorizeChainFailsClosed(t *testing.T) {
	cases := []struct {
		name string
		mods []*testAuth
		want Verdict
		why  string
	}{
		{"none", nil, Accept, ""},
		{"accept", []*testAuth{{Verdict: "accept"}}, Accept, ""},
		{"reject after accept", []*testAuth{{Verdict: "accept", id: "a.one"}, {Verdict: "reject", id: "a.two"}}, Reject, "no"},
		{"pending decided", []*testAuth{{Verdict: "pending", Delay: time.Millisecond}}, Accept, ""},
		{"pending over budget", []*testAuth{{Verdict: "pending", Delay: time.Hour}}, Reject, "no decision within 200ms"},
		{"panic", []*testAuth{{Panic: true}}, Reject, "failed"},
		{"redirect", []*testAuth{{Verdict: "redirect"}}, Redirect, ""},
	}
	for _, c := range cases {
		var sel Selection
		for _, m := range c.mods {
			sel.Add(m)
		}
		h, err := NewHost(sel, Context{Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := h.Authorize(context.Background(), &Request{Action: ActConnect, App: "live"})
		if d.Verdict != c.want || !strings.Contains(d.Reason, c.why) {
			t.Errorf("%s: got %+v", c.name, d)
		}
	}
	// Redirect is for connect only: a publish it answers is refused.
	var sel Selection
	sel.Add(&testAuth{Verdict: "redirect"})
	h, _ := NewHost(sel, Context{Log: zerolog.Nop()})
	if d := h.Authorize(context.Background(), &Request{Action: ActPublish}); d.Verdict != Reject {
		t.Errorf("redirect of a publish: %+v", d)
	}
	var nilHost *Host
	if d := nilHost.Authorize(context.Background(), &Request{}); d.Verdict != Accept {
		t.Errorf("nil host: %+v", d)
	}
}

func TestAuthorizeLastWriterWins(t *testing.T) {
	var sel Selection
	sel.Add(&testAuth{Rename: "first", id: "a.one"})
	sel.Add(&testAuth{Rename: "second", id: "a.two"})
	h, _ := NewHost(sel, Context{Log: zerolog.Nop()})
	req := &Request{Action: ActPlay, Stream: "asked"}
	if d := h.Authorize(context.Background(), req); d.Verdict != Accept || req.Stream != "second" {
		t.Fatalf("got %+v, stream %q", d, req.Stream)
	}
}

// slowSink blocks on every event until released.
type slowSink struct {
	release chan struct{}
	got     chan *Event
}

func (s *slowSink) PluginInfo() ModuleInfo {
	return ModuleInfo{ID: "test.sink", New: func() Module { return new(slowSink) }}
}
func (s *slowSink) EventQueueLen() int { return 2 }
func (s *slowSink) HandleEvent(ctx context.Context, ev *Event) {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	s.got <- ev
}

func TestEmitNeverBlocksAndCountsDrops(t *testing.T) {
	sink := &slowSink{release: make(chan struct{}), got: make(chan *Event, 16)}
	var sel Selection
	sel.Add(sink)
	h, err := NewHost(sel, Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.Start(ctx)
	for i := 0; i < 10; i++ { // one in the sink, two queued, the rest dropped
		h.Emit(Event{Kind: EvConnect, ClientID: "c"})
	}
	st := h.EventStats()
	if len(st) != 1 || st[0].Dropped < 7 {
		t.Fatalf("stats %+v", st)
	}
	close(sink.release)
	var seqs []uint64
	for i := uint64(0); i < 10-st[0].Dropped; i++ {
		seqs = append(seqs, (<-sink.got).Seq)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("out of order: %v", seqs)
		}
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetContext: a module's context has the budget as its deadline, Done closes at it (or at
// the answer), and Err says which.
func TestBudgetContext(t *testing.T) {
	c := newBudgetCtx(20 * time.Millisecond)
	if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if c.Err() != nil {
		t.Fatal("ended early")
	}
	<-c.Done()
	if c.Err() != context.DeadlineExceeded {
		t.Fatalf("err %v", c.Err())
	}
	c2 := newBudgetCtx(time.Hour)
	c2.cancel()
	<-c2.Done() // made after the answer: already closed
	if c2.Err() != context.Canceled {
		t.Fatalf("err %v", c2.Err())
	}
	c3 := newBudgetCtx(time.Hour)
	done := c3.Done()
	c3.cancel()
	<-done
}

// pickySink takes only disconnects.
type pickySink struct{ got chan EventKind }

func (s *pickySink) PluginInfo() ModuleInfo {
	return ModuleInfo{ID: "test.picky", New: func() Module { return new(pickySink) }}
}
func (s *pickySink) WantsEvent(k EventKind) bool              { return k == EvDisconnect }
func (s *pickySink) HandleEvent(_ context.Context, ev *Event) { s.got <- ev.Kind }

// TestEventSelectorGetsOnlyItsKinds: a sink that selects kinds is not queued the others.
func TestEventSelectorGetsOnlyItsKinds(t *testing.T) {
	sink := &pickySink{got: make(chan EventKind, 8)}
	var sel Selection
	sel.Add(sink)
	h, err := NewHost(sel, Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	h.Emit(Event{Kind: EvConnect})
	h.Emit(Event{Kind: EvDisconnect})
	h.Stop(context.Background())
	if len(sink.got) != 1 || <-sink.got != EvDisconnect {
		t.Fatalf("the sink got other kinds")
	}
}

// lingerSink counts its events and flushes, and asks for a long linger.
type lingerSink struct {
	mu              sync.Mutex
	handled, writes int
	written         chan int // the events covered by each flush
}

func (s *lingerSink) PluginInfo() ModuleInfo {
	return ModuleInfo{ID: "test.linger", New: func() Module { return new(lingerSink) }}
}
func (s *lingerSink) EventLinger() time.Duration { return 300 * time.Millisecond }
func (s *lingerSink) HandleEvent(context.Context, *Event) {
	s.mu.Lock()
	s.handled++
	s.mu.Unlock()
}
func (s *lingerSink) FlushEvents(context.Context) {
	s.mu.Lock()
	n := s.handled
	s.mu.Unlock()
	s.written <- n
}

// TestSinkLingerGathersABurst: a sink that asks for a longer linger gets a burst's events
// written by one FlushEvents at the linger's end, not one per wake-up.
func TestSinkLingerGathersABurst(t *testing.T) {
	sink := &lingerSink{written: make(chan int, 16)}
	var sel Selection
	sel.Add(sink)
	h, err := NewHost(sel, Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.Start(ctx)
	start := time.Now()
	for i := 0; i < 100; i++ {
		h.Emit(Event{Kind: EvDisconnect, ClientID: "c"})
	}
	if n := <-sink.written; n != 100 {
		t.Fatalf("the first write covered %d of the burst's 100 events", n)
	}
	// a lower bound only: a loaded machine makes the write later, never earlier
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("the burst was written after %v, before the sink's 300 ms linger", d)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
