package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/core/vod"
	"github.com/fmsgo/fmsgo/scripting"
	"github.com/rs/zerolog"
)

// fakeTransport records what the session asks of a transport: a third transport (neither an
// RTMP connection nor a trunk session) gets the same semantics through the interface alone.
type fakeTransport struct {
	mu     sync.Mutex
	events []string
	got    chan string
	done   chan struct{}
	log    zerolog.Logger
}

func newFake() *fakeTransport {
	return &fakeTransport{got: make(chan string, 64), done: make(chan struct{}), log: zerolog.Nop()}
}

func (f *fakeTransport) note(e string) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
	f.got <- e
}

func (f *fakeTransport) ID() string                   { return "fake-1" }
func (f *fakeTransport) Log() *zerolog.Logger         { return &f.log }
func (f *fakeTransport) Done() <-chan struct{}        { return f.done }
func (f *fakeTransport) Stats() scripting.ClientStats { return scripting.ClientStats{} }
func (f *fakeTransport) Held(fn func())               { fn() }
func (f *fakeTransport) Kill(error)                   { f.note("kill") }
func (f *fakeTransport) SendCommand(streamID uint32, name string, _ float64, args ...any) error {
	e := name
	if name == "onStatus" && len(args) > 0 {
		if o, _ := args[0].(*amf.Object); o != nil {
			e += " " + o.String("code")
		}
	}
	if name == "_result" && len(args) > 0 {
		if s, ok := args[0].(string); ok {
			e += " " + s
		}
	}
	f.note(e)
	return nil
}
func (f *fakeTransport) AcceptConnect(_ float64, info *amf.Object, _, _ bool) {
	f.note("accept " + info.String("code"))
}
func (f *fakeTransport) RejectConnect(_ float64, info *amf.Object) {
	f.note("reject " + info.String("code"))
}
func (f *fakeTransport) CloseWithStatus(info *amf.Object) { f.note("close " + info.String("code")) }
func (f *fakeTransport) SharedObjectSink(*sharedobject.Registry) sharedobject.Subscriber {
	return nil
}
func (f *fakeTransport) PublishStarted(_ uint32, name string, _ *live.Publication, st *amf.Object) error {
	f.note("publish-started " + name + " " + st.String("code"))
	return nil
}
func (f *fakeTransport) PublishStopped(_ uint32, st *amf.Object) {
	if st != nil {
		f.note("publish-stopped " + st.String("code"))
	}
}
func (f *fakeTransport) StartFilePlay(_ uint32, name string, _ bool, _ *vod.Player) (Play, error) {
	f.note("file-play-started " + name)
	return fakePlay{f}, nil
}

func (f *fakeTransport) StartPlay(_ uint32, name string, _ bool, hub *live.Hub) (Play, error) {
	if hub == nil {
		return nil, errors.New("no hub")
	}
	f.note("play-started " + name)
	return fakePlay{f}, nil
}
func (f *fakeTransport) StreamStatus(_ uint32, st *amf.Object) error {
	f.note("status " + st.String("code"))
	return nil
}

type fakePlay struct{ f *fakeTransport }

func (p fakePlay) Pause(on bool) {
	if on {
		p.f.note("paused")
	}
}
func (p fakePlay) ReceiveAudio(bool) {}
func (p fakePlay) ReceiveVideo(bool) {}
func (p fakePlay) Stop(st *amf.Object) {
	if st != nil {
		p.f.note("play-stopped " + st.String("code"))
	}
}

// TestSessionOverAnyTransport (issue 10 item 1): the session core drives a transport that is
// neither RTMP nor the trunk — connect verdict, a call answered by the app, publish, a refused
// and an accepted play, pause, closeStream — and each step reaches the transport as the typed
// call (PublishStarted, StartPlay, Play.Stop) with FMS's status.
func TestSessionOverAnyTransport(t *testing.T) {
	t.Parallel()
	apps := t.TempDir()
	if err := os.MkdirAll(filepath.Join(apps, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	code := `application.onPlay = function (c, s) { return s.name !== "private"; };
Client.prototype.hello = function () { return "hi"; };`
	if err := os.WriteFile(filepath.Join(apps, "live", "main.js"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := scripting.NewEngine(scripting.EngineConfig{AppsDir: apps, DataDir: t.TempDir(), NoFileEvents: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	f := newFake()
	s := New(&Env{Engine: eng, MaxStreams: 4}, f)
	cmd := func(stream uint32, name string, txn float64, args ...any) {
		t.Helper()
		if err := s.Command(stream, &rtmpmsg.Command{Name: name, TxnID: txn, Args: args}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	expect := func(want string) {
		t.Helper()
		for {
			select {
			case e := <-f.got:
				if e == want {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("never got %q; got %q", want, f.events)
			}
		}
	}
	if err := s.Command(0, &rtmpmsg.Command{Name: "connect", TxnID: 1, Object: &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}}}}); err != nil {
		t.Fatal(err)
	}
	expect("accept NetConnection.Connect.Success")
	if !s.Connected() || s.Hub() == nil || s.Target().App != "live" {
		t.Fatalf("connected %v hub %v target %+v", s.Connected(), s.Hub(), s.Target())
	}
	cmd(0, "hello", 2)
	expect("_result hi")
	cmd(0, "createStream", 3)
	cmd(1, "publish", 0, "cam", "live")
	expect("publish-started cam NetStream.Publish.Start")
	cmd(0, "createStream", 4)
	cmd(2, "play", 0, "private")
	expect("status NetStream.Play.Failed")
	cmd(2, "play", 0, "cam")
	expect("play-started cam")
	cmd(2, "pause", 0, true)
	expect("paused")
	expect("status NetStream.Pause.Notify")
	cmd(2, "closeStream", 0)
	expect("play-stopped NetStream.Play.Stop")
	cmd(1, "closeStream", 0)
	expect("publish-stopped NetStream.Unpublish.Success")
	s.Close()
	s.Close() // once only
}
