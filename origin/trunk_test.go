package origin

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/trunk"
)

// testSecret is a trunk secret of the minimum length or more (trunk.MinSecretLen).
const testSecret = "origin-test-secret-0123"

// rawEdge is a hand-driven edge: a test sends frames and reads the origin's answers in order.
type rawEdge struct {
	conn   *trunk.Conn
	frames chan trunk.Frame
}

func dialRawEdge(t *testing.T, o *testOrigin, secret string) *rawEdge {
	t.Helper()
	nc, err := net.Dial("tcp", o.srv.TrunkAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	link, err := trunk.ClientHandshake(nc, trunk.HandshakeConfig{ID: "raw-edge", Secret: []byte(secret)})
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	e := &rawEdge{frames: make(chan trunk.Frame, 64)}
	e.conn = trunk.NewConn(link, trunk.Config{}, func(f trunk.Frame) error {
		f.Body = append([]byte(nil), f.Body...)
		e.frames <- f
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = e.conn.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-e.conn.Done() })
	return e
}

func (e *rawEdge) next(t *testing.T) trunk.Frame {
	t.Helper()
	select {
	case f := <-e.frames:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame from the origin")
	}
	return trunk.Frame{}
}

func amf0(t *testing.T, v any) []byte {
	t.Helper()
	var e amf.Encoder
	b, err := e.AppendAMF0(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startTrunkOrigin(t *testing.T, secret string, apps ...string) *testOrigin {
	return startOriginWith(t, func(c *Config) { c.Trunk, c.TrunkSecret = "127.0.0.1:0", secret }, apps...)
}

func TestTrunkSessionVerdicts(t *testing.T) {
	t.Parallel()
	o := startTrunkOrigin(t, testSecret, "live")
	e := dialRawEdge(t, o, testSecret)
	cases := []struct {
		name    string
		command []byte
		status  uint8
		code    string
	}{
		{"accepted", amf0(t, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}}}), trunk.VerdictAccept, "NetConnection.Connect.Success"},
		{"unknown app", amf0(t, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "nope"}}}), trunk.VerdictReject, "NetConnection.Connect.Rejected"},
		{"invalid app", amf0(t, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "../x"}}}), trunk.VerdictReject, "NetConnection.Connect.InvalidApp"},
		{"garbage command", []byte{0xff, 0x00}, trunk.VerdictReject, "NetConnection.Connect.InvalidApp"},
	}
	for i, c := range cases {
		id := uint32(i + 1)
		if err := e.conn.Send(id, trunk.SessionOpen{EdgeID: "raw-edge", ClientAddr: "10.1.2.3:5555", Command: c.command}); err != nil {
			t.Fatal(err)
		}
		f := e.next(t)
		if f.Kind != trunk.KindSessionVerdict || f.ID != id {
			t.Fatalf("%s: got %v on %d", c.name, f.Kind, f.ID)
		}
		v, err := trunk.DecodeSessionVerdict(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		var d amf.Decoder
		d.Reset(v.Info)
		info, _ := d.DecodeAMF0()
		obj, _ := info.(*amf.Object)
		if v.Status != c.status || obj == nil || obj.String("code") != c.code {
			t.Errorf("%s: verdict %d %#v", c.name, v.Status, info)
		}
		if c.status == trunk.VerdictReject {
			if f := e.next(t); f.Kind != trunk.KindSessionClose || f.ID != id {
				t.Errorf("%s: after a reject want session-close, got %v", c.name, f.Kind)
			}
		}
	}
	// A frame for a session that does not exist is answered, not fatal.
	if err := e.conn.Send(99, trunk.SessionVerdict{Status: trunk.VerdictAccept}); err != nil {
		t.Fatal(err)
	}
	if f := e.next(t); f.Kind != trunk.KindError || f.ID != 99 {
		t.Fatalf("unknown session: got %v on %d", f.Kind, f.ID)
	}
	// A publish channel for a publish the app never accepted is refused; its media is ignored.
	if err := e.conn.Send(50, trunk.StreamPublish{Session: 1, StreamID: 1, App: "live/_definst_", Stream: "x", Mode: "live"}); err != nil {
		t.Fatal(err)
	}
	_ = e.conn.SendMedia(50, trunk.StreamMedia{Type: 9, Payload: []byte{0x17, 1}})
	if f := e.next(t); f.Kind != trunk.KindStreamStatus || f.ID != 50 {
		t.Fatalf("unaccepted publish: got %v on %d", f.Kind, f.ID)
	} else if st, _ := trunk.DecodeStreamStatus(f.Body); st.Code != trunk.StreamRejected {
		t.Fatalf("unaccepted publish: status %+v", st)
	}
	// A subscription with no accepted play (here of an unknown app) is refused with a status, not
	// a dead trunk, and creates no instance.
	if err := e.conn.Send(51, trunk.StreamSubscribe{App: "nope/_definst_", Stream: "x"}); err != nil {
		t.Fatal(err)
	}
	if f := e.next(t); f.Kind != trunk.KindStreamStatus || f.ID != 51 {
		t.Fatalf("subscribe to unknown app: got %v on %d", f.Kind, f.ID)
	} else if st, _ := trunk.DecodeStreamStatus(f.Body); st.Code != trunk.StreamRejected {
		t.Fatalf("subscribe to unknown app: status %+v", st)
	}
}

// TestTrunkBeyondLoopbackNeedsSecret (issue 9 item 2): a trunk any machine could reach refuses
// to start without a secret, with an error that names the ways out; -trunk-insecure starts it
// with a warning, and loopback needs nothing.
func TestTrunkBeyondLoopbackNeedsSecret(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		cfg := DefaultConfig()
		cfg.Apps, cfg.Trunk = t.TempDir(), addr
		_, err := New(cfg, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "-trunk-insecure") || !strings.Contains(err.Error(), "-trunk-secret-file") {
			t.Errorf("trunk %s without a secret: err = %v", addr, err)
		}
	}
	o := startOriginWith(t, func(c *Config) { c.Trunk, c.TrunkInsecure = "0.0.0.0:0", true })
	if !strings.Contains(o.logs.String(), "without a secret (-trunk-insecure)") {
		t.Fatalf("no warning:\n%s", o.logs.String())
	}
	if !strings.Contains(o.logs.String(), `"proto":"trunk"`) {
		t.Fatalf("no listening line:\n%s", o.logs.String())
	}
	startOriginWith(t, func(c *Config) { c.Trunk, c.TrunkSecret = "0.0.0.0:0", testSecret })
	startOriginWith(t, func(c *Config) { c.Trunk = "127.0.0.1:0" })
}

// TestTrunkSecretSources: the secret may come from a file (its final newline dropped), never
// together with -trunk-secret, and never shorter than trunk.MinSecretLen.
func TestTrunkSecretSources(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOriginWith(t, func(c *Config) { c.Trunk, c.TrunkSecretFile = "127.0.0.1:0", file }, "live")
	dialRawEdge(t, o, testSecret) // fails the test unless the file's secret is the one required
	nc, err := net.Dial("tcp", o.srv.TrunkAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := trunk.ClientHandshake(nc, trunk.HandshakeConfig{ID: "no-secret"}); !errors.Is(err, trunk.ErrAuth) {
		t.Fatalf("edge without the secret: %v", err)
	}
	short := filepath.Join(t.TempDir(), "short")
	_ = os.WriteFile(short, []byte("change-me\n"), 0o600)
	for name, set := range map[string]func(*Config){
		"short value": func(c *Config) { c.TrunkSecret = "change-me" },
		"short file":  func(c *Config) { c.TrunkSecretFile = short },
		"both":        func(c *Config) { c.TrunkSecret, c.TrunkSecretFile = testSecret, file },
		"no file":     func(c *Config) { c.TrunkSecretFile = filepath.Join(t.TempDir(), "missing") },
	} {
		cfg := DefaultConfig()
		cfg.Apps = t.TempDir()
		set(&cfg)
		if _, err := New(cfg, zerolog.Nop()); !errors.Is(err, trunk.ErrSecret) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzTrunkConnectDecode(f *testing.F) {
	var e amf.Encoder
	obj, _ := e.AppendAMF0(nil, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}, {Key: "objectEncoding", Value: 3.0}}})
	e.Reset()
	args, _ := e.AppendAMF0(nil, "alice")
	f.Add(obj, args)
	f.Add([]byte{0xff}, []byte{0x03, 0x00})
	f.Fuzz(func(t *testing.T, cmd, rest []byte) {
		var dec amf.Decoder
		o, a := decodeConnect(&dec, cmd, rest)
		if o == nil || len(a) > 64 {
			t.Fatalf("object %v, %d args", o, len(a))
		}
	})
}
