package rtmpclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// fakeServer is a scripted one-connection RTMP server: the test drives it message by message,
// so the client's side of every exchange is checked exactly.
type fakeServer struct {
	t   *testing.T
	nc  net.Conn
	r   *chunk.Reader
	w   *chunk.Writer
	dec amf.Decoder
	enc amf.Encoder
}

// msg is one message the fake server read, with its command decoded when it is one.
type msg struct {
	h   chunk.Header
	p   []byte
	cmd *rtmpmsg.Command
}

// startFake listens, and runs script on the first connection after the handshake. The returned
// channel is closed when the script is done.
func startFake(t *testing.T, script func(s *fakeServer)) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		if err := rtmpconn.ServerHandshake(struct {
			io.Reader
			io.Writer
		}{br, nc}); err != nil {
			t.Errorf("fake server handshake: %v", err)
			return
		}
		script(&fakeServer{t: t, nc: nc, r: chunk.NewReader(br, chunk.DefaultLimits()), w: chunk.NewWriter()})
	}()
	return "rtmp://" + ln.Addr().String() + "/app/inst", done
}

// read returns the next message, answering Set Chunk Size itself.
func (s *fakeServer) read() msg {
	for {
		h, p, err := s.r.ReadMessage()
		if err != nil {
			s.t.Errorf("fake server read: %v", err)
			return msg{}
		}
		m := msg{h: h, p: append([]byte(nil), p...)}
		switch h.TypeID {
		case rtmpmsg.TypeSetChunkSize:
			n, _ := rtmpmsg.ParseSetChunkSize(p)
			_ = s.r.SetChunkSize(n)
			continue
		case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
			cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, &s.dec)
			if err != nil {
				s.t.Errorf("fake server: bad command: %v", err)
			}
			m.cmd = &cmd
		}
		return m
	}
}

// readCommand skips to the next command.
func (s *fakeServer) readCommand() *rtmpmsg.Command {
	for {
		m := s.read()
		if m.cmd != nil || m.h.TypeID == 0 {
			return m.cmd
		}
	}
}

func (s *fakeServer) send(streamID uint32, typeID uint8, payload []byte) {
	bufs := s.w.Append(nil, chunk.Header{CSID: 3, TypeID: typeID, StreamID: streamID}, payload)
	_, _ = bufs.WriteTo(s.nc) // a failed write shows up in the script's next read
	s.w.Reset()
}

// waitClose reads until the client hangs up.
func (s *fakeServer) waitClose() {
	for {
		if _, _, err := s.r.ReadMessage(); err != nil {
			return
		}
	}
}

func (s *fakeServer) command(streamID uint32, name string, txn float64, obj any, args ...any) {
	p, err := rtmpmsg.AppendCommand(nil, &s.enc, false, name, txn, obj, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(streamID, rtmpmsg.TypeCommandAMF0, p)
}

func info(code string, more ...amf.Prop) *amf.Object {
	level := "status"
	if code != "NetConnection.Connect.Success" && code != "NetStream.Publish.Start" {
		level = "error"
	}
	o := &amf.Object{Props: []amf.Prop{{Key: "level", Value: level}, {Key: "code", Value: code}}}
	o.Props = append(o.Props, more...)
	return o
}

// acceptConnect reads connect and answers _result.
func (s *fakeServer) acceptConnect() *rtmpmsg.Command {
	cmd := s.readCommand()
	if cmd == nil || cmd.Name != "connect" || cmd.TxnID != 1 {
		s.t.Errorf("first command = %+v, want connect txn 1", cmd)
		return cmd
	}
	s.command(0, "_result", 1, &amf.Object{Props: []amf.Prop{{Key: "fmsVer", Value: "FMS/3,5,7,7009"}}},
		info("NetConnection.Connect.Success"))
	return cmd
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectCommandObjectAndEncoding(t *testing.T) {
	t.Parallel()
	for _, enc := range []int{0, 3} {
		t.Run([]string{"amf0", "", "", "amf3"}[enc], func(t *testing.T) {
			t.Parallel()
			got := make(chan *rtmpmsg.Command, 1)
			url, done := startFake(t, func(s *fakeServer) { got <- s.acceptConnect(); s.waitClose() })
			c, err := Dial(ctxT(t), url+"?tok=1", Options{ObjectEncoding: enc, ConnectArgs: []any{"alice", 7.0},
				Command: []amf.Prop{{Key: "flashVer", Value: "FMLE/3.0"}, {Key: "type", Value: "nonprivate"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cmd := <-got
			obj, _ := cmd.Object.(*amf.Object)
			if obj == nil || obj.String("app") != "app/inst?tok=1" || obj.String("flashVer") != "FMLE/3.0" ||
				obj.String("type") != "nonprivate" || obj.String("tcUrl") != url+"?tok=1" {
				t.Fatalf("command object %+v", obj)
			}
			if n, _ := obj.Number("objectEncoding"); int(n) != enc || cmd.AMF3 != (enc == 3) {
				t.Fatalf("objectEncoding %v, AMF3 %v", n, cmd.AMF3)
			}
			if len(cmd.Args) != 2 || cmd.Args[0] != "alice" || cmd.Args[1] != 7.0 {
				t.Fatalf("connect args %v", cmd.Args)
			}
			if c.ConnectInfo().String("code") != "NetConnection.Connect.Success" || c.ObjectEncoding() != enc {
				t.Fatalf("connect info %+v", c.ConnectInfo())
			}
			c.Close()
			<-done
		})
	}
}

func TestConnectRejected(t *testing.T) {
	t.Parallel()
	url, _ := startFake(t, func(s *fakeServer) {
		s.readCommand()
		s.command(0, "_error", 1, nil, info("NetConnection.Connect.Rejected",
			amf.Prop{Key: "description", Value: "go away"}, amf.Prop{Key: "application", Value: "why"}))
	})
	_, err := Dial(ctxT(t), url, Options{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || se.Description() != "go away" ||
		se.Application() != "why" {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectServerCloses(t *testing.T) {
	t.Parallel()
	url, _ := startFake(t, func(s *fakeServer) { s.readCommand() })
	if _, err := Dial(ctxT(t), url, Options{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
}

func TestDialTimeoutOnSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never answer the handshake
		nc, err := ln.Accept()
		if err == nil {
			defer nc.Close()
			_, _ = nc.Read(make([]byte, 4096))
			<-t.Context().Done()
		}
	}()
	start := time.Now()
	_, err = Dial(ctxT(t), "rtmp://"+ln.Addr().String()+"/live", Options{Timeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

// TestAnswerBeforeEndWins: an answer delivered just before the connection ended (a rejection
// and the server's close read together) is what the caller gets, every time.
func TestAnswerBeforeEndWins(t *testing.T) {
	t.Parallel()
	c := &Client{done: make(chan struct{})}
	close(c.done)
	for i := range 200 {
		ch := make(chan answer, 1)
		ch <- answer{err: &StatusError{}}
		var se *StatusError
		if _, err := c.awaitAnswer(ctxT(t), "connect", ch); !errors.As(err, &se) {
			t.Fatalf("attempt %d: %v, want the answer", i, err)
		}
	}
}
