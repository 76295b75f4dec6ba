package origin

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/trunk"
)

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
	o := startTrunkOrigin(t, "k", "live")
	e := dialRawEdge(t, o, "k")
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
	// A subscription to an unknown app is refused with a status, not a dead trunk.
	if err := e.conn.Send(51, trunk.StreamSubscribe{App: "nope/_definst_", Stream: "x"}); err != nil {
		t.Fatal(err)
	}
	if f := e.next(t); f.Kind != trunk.KindStreamStatus || f.ID != 51 {
		t.Fatalf("subscribe to unknown app: got %v on %d", f.Kind, f.ID)
	} else if st, _ := trunk.DecodeStreamStatus(f.Body); st.Code != trunk.StreamNotFound {
		t.Fatalf("subscribe to unknown app: status %+v", st)
	}
}

func TestTrunkWarnsWithoutSecretBeyondLoopback(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Trunk = "0.0.0.0:0" })
	if !strings.Contains(o.logs.String(), "without -trunk-secret") {
		t.Fatalf("no warning:\n%s", o.logs.String())
	}
	if !strings.Contains(o.logs.String(), `"proto":"trunk"`) {
		t.Fatalf("no listening line:\n%s", o.logs.String())
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
		var ts trunkSession
		o, a := ts.decodeConnect(cmd, rest)
		if o == nil || len(a) > 64 {
			t.Fatalf("object %v, %d args", o, len(a))
		}
	})
}
