package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/rs/zerolog"
)

// session is the events of one publisher and one player, as the origin emits them.
func session() []plugin.Event {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	pub := plugin.Event{App: "live", Instance: "_definst_", ClientID: "c1", IP: "127.0.0.1", Protocol: "rtmp",
		Agent: "FMLE/3.0 (compatible; FMSc/1.0)", Time: at}
	play := pub
	play.ClientID, play.Agent, play.Edge = "c2", "LNX 9,0,124,2\nforged line", "edge-a"
	return []plugin.Event{
		with(pub, plugin.EvConnect, "", 0, 0, 0),
		with(pub, plugin.EvPublish, "cam?token=secret", 0, 0, 0),
		with(play, plugin.EvConnect, "", 0, 0, 0),
		with(play, plugin.EvPlay, "cam", 0, 0, 0),
		with(play, plugin.EvStop, "cam", 0, 5000, 2500*time.Millisecond),
		with(play, plugin.EvDisconnect, "", 300, 6000, 3*time.Second),
		with(pub, plugin.EvUnpublish, "cam?token=secret", 90000, 0, 4*time.Second),
		with(pub, plugin.EvDisconnect, "", 91000, 400, 4200*time.Millisecond),
	}
}

func with(ev plugin.Event, k plugin.EventKind, stream string, in, out uint64, d time.Duration) plugin.Event {
	ev.Kind, ev.Stream, ev.BytesIn, ev.BytesOut, ev.Duration = k, stream, in, out, d
	ev.Status = map[plugin.EventKind]string{plugin.EvStop: "NetStream.Play.Stop",
		plugin.EvUnpublish: "NetStream.Unpublish.Success", plugin.EvDisconnect: "NetConnection.Connect.Closed"}[k]
	return ev
}

// run passes evs through m under a real plugin.Host and stops it.
func run(t *testing.T, m *Module, dir string, evs []plugin.Event) {
	t.Helper()
	var sel plugin.Selection
	sel.Add(m)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.New(zerolog.NewTestWriter(t)), ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		h.Emit(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestJSONLinePerConnectionAndStreamSession(t *testing.T) {
	dir := t.TempDir()
	run(t, &Module{Path: "access.log"}, dir, session()) // relative to the config's folder
	ls := lines(t, filepath.Join(dir, "access.log"))
	if len(ls) != 4 {
		t.Fatalf("want 4 lines (stop, 2 disconnects, unpublish), got %d:\n%s", len(ls), strings.Join(ls, "\n"))
	}
	var es []Entry
	for _, l := range ls {
		var e Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		es = append(es, e)
	}
	stop, unpub := es[0], es[2]
	if stop.Event != "stop" || stop.Category != "stream" || stop.Stream != "cam" || stop.ClientID != "c2" ||
		stop.Edge != "edge-a" || stop.BytesOut != 5000 || stop.DurationMS != 2500 || stop.Status != "NetStream.Play.Stop" {
		t.Errorf("stop line %+v", stop)
	}
	if unpub.Event != "unpublish" || unpub.Stream != "cam" || unpub.BytesIn != 90000 || unpub.DurationMS != 4000 {
		t.Errorf("unpublish line %+v (the stream's query must be gone)", unpub)
	}
	if es[3].Category != "connection" || es[3].IP != "127.0.0.1" || es[3].App != "live" || es[3].Instance != "_definst_" ||
		es[3].BytesIn != 91000 || es[3].DurationMS != 4200 || !es[3].Time.Equal(session()[0].Time) {
		t.Errorf("disconnect line %+v", es[3])
	}
	if strings.Contains(strings.Join(ls, ""), "secret") {
		t.Error("a token reached the log")
	}
}

func TestAppendsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	evs := session()[4:6]
	run(t, &Module{Path: filepath.Join(dir, "a.log")}, dir, evs)
	run(t, &Module{Path: filepath.Join(dir, "a.log")}, dir, evs)
	if ls := lines(t, filepath.Join(dir, "a.log")); len(ls) != 4 {
		t.Fatalf("want 2+2 lines, got %q", ls)
	}
}

func TestW3CFormat(t *testing.T) {
	dir := t.TempDir()
	run(t, &Module{Path: "w3c.log", Format: FormatW3C}, dir, session())
	ls := lines(t, filepath.Join(dir, "w3c.log"))
	if len(ls) != 8 || ls[0] != "#Version: 1.0" || !strings.HasPrefix(ls[3], "#Fields: date time x-event ") {
		t.Fatalf("header and 4 lines expected:\n%s", strings.Join(ls, "\n"))
	}
	names := strings.Fields(strings.TrimPrefix(ls[3], "#Fields: "))
	for _, l := range ls[4:] {
		if f := strings.Split(l, " "); len(f) != len(names) {
			t.Errorf("%d values for %d fields: %q", len(f), len(names), l)
		}
	}
	want := "2026-03-04 05:06:07.890 stop stream 127.0.0.1 live _definst_ cam NetStream.Play.Stop 0 5000 2.500 c2 edge-a rtmp LNX%209,0,124,2%0Aforged%20line"
	if ls[4] != want {
		t.Errorf("stop line\n got %q\nwant %q", ls[4], want)
	}
	if !strings.HasSuffix(ls[6], " 4.000 c1 - rtmp FMLE/3.0%20(compatible;%20FMSc/1.0)") || !strings.Contains(ls[6], " cam ") {
		t.Errorf("unpublish line %q: want stream cam, no edge (-), the agent encoded", ls[6])
	}
}

// TestFlushedWhenIdleClosedAtStop: through the Host, a line is in the file as soon as no
// event waits (the bus calls FlushEvents), and Stop closes the log.
func TestFlushedWhenIdleClosedAtStop(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.log")
	m := &Module{Path: p}
	var sel plugin.Selection
	sel.Add(m)
	h, err := plugin.NewHost(sel, plugin.Context{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Emit(session()[5])
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := lines(t, p)
		if len(ls) == 1 && strings.Contains(ls[0], `"event":"disconnect"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in the file while the server is idle: %q", ls)
		}
		time.Sleep(time.Millisecond) // polling a file: there is no event to wait on
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := session()[5]
	m.HandleEvent(context.Background(), &ev) // after Stop: ignored, no panic
	m.FlushEvents(context.Background())
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if ls := lines(t, p); len(ls) != 1 {
		t.Fatalf("written after Stop: %q", ls)
	}
}

func TestConfigErrors(t *testing.T) {
	m := &Module{Format: "xml"}
	m.Provision(plugin.Context{})
	if err := m.Validate(); err == nil {
		t.Error("format xml accepted")
	}
	m = &Module{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "a.log")}
	m.Provision(plugin.Context{})
	if err := m.Start(); err == nil {
		t.Error("unopenable path started")
	}
	m = &Module{Path: "-"} // stderr: started and stopped without closing it
	m.Provision(plugin.Context{})
	if err := m.Start(); err != nil || m.Stop() != nil {
		t.Error("stderr log failed")
	}
	if _, err := os.Stderr.Stat(); err != nil {
		t.Errorf("stderr closed: %v", err)
	}
}

func BenchmarkHandleEvent(b *testing.B) {
	for _, format := range []string{FormatJSON, FormatW3C} {
		b.Run(format, func(b *testing.B) {
			m := &Module{Path: filepath.Join(b.TempDir(), "a.log"), Format: format}
			m.Provision(plugin.Context{Log: zerolog.Nop()})
			if err := m.Start(); err != nil {
				b.Fatal(err)
			}
			defer m.Stop()
			ev := session()[7]
			b.ReportAllocs()
			for b.Loop() {
				m.HandleEvent(context.Background(), &ev)
			}
		})
	}
}

// TestJSONLineIsEncodingJSON: the hand-written line is byte for byte what encoding/json writes
// for the Entry (without HTML escaping), for every line of a session and hostile strings.
func TestJSONLineIsEncodingJSON(t *testing.T) {
	evs := session()
	odd := evs[5]
	odd.Agent, odd.Stream, odd.IP = "a\"b\\c\u2028\x01<&>\xff", "s\tx", "é"
	for _, ev := range append(evs, odd) {
		cat := category(ev.Kind)
		if cat == "" {
			continue
		}
		e := newEntry(&ev, cat)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&e); err != nil {
			t.Fatal(err)
		}
		if got := e.appendJSON(nil); string(got) != want.String() {
			t.Errorf("line\n got %s\nwant %s", got, want.String())
		}
	}
}
