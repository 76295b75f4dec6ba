package rtmpclient

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

func TestCallsBothWays(t *testing.T) {
	t.Parallel()
	url, done := startFake(t, func(s *fakeServer) {
		s.acceptConnect()
		echo := s.readCommand() // c.Call("echo", ...)
		s.command(0, "_result", echo.TxnID, nil, echo.Args[0])
		bad := s.readCommand()
		s.command(0, "_error", bad.TxnID, nil, info("NetConnection.Call.Failed"))
		s.command(0, "double", 42, nil, 21.0) // server→client calls
		if a := s.readCommand(); a.Name != "_result" || a.TxnID != 42 || a.Args[0] != 42.0 {
			s.t.Errorf("answer to double: %+v", a)
		}
		s.command(0, "fail", 43, nil)
		if a := s.readCommand(); a.Name != "_error" || a.Args[0].(*amf.Object).String("code") != "NetConnection.Call.Failed" {
			s.t.Errorf("answer to fail: %+v", a)
		}
		s.command(0, "unhandled", 0, nil, "x")
		s.waitClose()
	})
	c, err := Dial(ctxT(t), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Handle("double", func(args []any) (any, error) { return args[0].(float64) * 2, nil })
	c.Handle("fail", func([]any) (any, error) { return nil, errors.New("nope") })
	arr := &amf.Array{Dense: []any{1.0, "two"}}
	v, err := c.Call(ctxT(t), "echo", arr)
	if a, ok := v.(*amf.Array); err != nil || !ok || len(a.Dense) != 2 || a.Dense[1] != "two" {
		t.Fatalf("echo = %#v, %v", v, err)
	}
	var se *StatusError
	if _, err := c.Call(ctxT(t), "bad"); !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" {
		t.Fatalf("bad = %v", err)
	}
	ev, err := c.NextEvent(ctxT(t))
	if err != nil || ev.Kind != EventCommand || ev.Name != "unhandled" || ev.Args[0] != "x" {
		t.Fatalf("event %+v, %v", ev, err)
	}
	c.Close()
	<-done
	if _, err := c.Call(ctxT(t), "late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after close: %v", err)
	}
}

func TestProtocolControl(t *testing.T) {
	t.Parallel()
	acked := make(chan struct{}, 1) // the client closes only after the server has read its ack
	url, done := startFake(t, func(s *fakeServer) {
		defer close(acked)
		s.acceptConnect()
		s.send(0, rtmpmsg.TypeWindowAckSize, rtmpmsg.AppendWindowAckSize(nil, 1000))
		s.send(0, rtmpmsg.TypeUserControl, rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingRequest, 77))
		m := s.read()
		uc, _ := rtmpmsg.ParseUserControl(m.p)
		if m.h.TypeID != rtmpmsg.TypeUserControl || uc.Event != rtmpmsg.EventPingResponse || uc.Data != 77 {
			s.t.Errorf("ping answer %+v %+v", m.h, uc)
		}
		s.send(0, rtmpmsg.TypeSetChunkSize, rtmpmsg.AppendSetChunkSize(nil, 60000))
		s.w.SetChunkSize(60000)
		s.send(1, rtmpmsg.TypeVideo, make([]byte, 3000)) // > window: the client must ack
		m = s.read()
		if m.h.TypeID != rtmpmsg.TypeAck || binary.BigEndian.Uint32(m.p) < 3000 {
			s.t.Errorf("want an ack, got %+v %x", m.h, m.p)
		}
		acked <- struct{}{}
		s.waitClose()
	})
	c, err := Dial(ctxT(t), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ev, err := c.NextEvent(ctxT(t))
	if err != nil || ev.Kind != EventMedia || len(ev.Payload) != 3000 || ev.StreamID != 1 {
		t.Fatalf("event %+v, %v", ev.Kind, err)
	}
	<-acked // the media event can come before the client has written its ack
	c.Close()
	<-done
}

func TestStreamsAndStatus(t *testing.T) {
	t.Parallel()
	url, done := startFake(t, func(s *fakeServer) {
		s.acceptConnect()
		cs := s.readCommand()
		s.command(0, "_result", cs.TxnID, nil, 1.0)
		pub := s.readCommand()
		if pub.Name != "publish" || pub.Args[0] != "taken" || pub.Args[1] != "live" {
			s.t.Errorf("publish %+v", pub)
		}
		s.command(1, "onStatus", 0, nil, info("NetStream.Publish.BadName"))
		s.readCommand()
		s.command(1, "onStatus", 0, nil, info("NetStream.Publish.Start"))
		if m := s.read(); m.h.TypeID != rtmpmsg.TypeDataAMF0 || m.h.StreamID != 1 {
			s.t.Errorf("data %+v", m.h)
		}
		if m := s.read(); m.h.TypeID != rtmpmsg.TypeAudio || m.h.Timestamp != 40 || string(m.p) != "\xaf\x01" {
			s.t.Errorf("audio %+v %x", m.h, m.p)
		}
		if del := s.readCommand(); del.Name != "deleteStream" || del.Args[0] != 1.0 {
			s.t.Errorf("deleteStream %+v", del)
		}
		s.waitClose()
	})
	c, err := Dial(ctxT(t), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sid, err := c.CreateStream(ctxT(t))
	if err != nil || sid != 1 {
		t.Fatalf("createStream %d %v", sid, err)
	}
	var se *StatusError
	if _, err := c.Publish(ctxT(t), sid, "taken", "live"); !errors.As(err, &se) || se.Code() != "NetStream.Publish.BadName" {
		t.Fatalf("publish: %v", err)
	}
	if _, err := c.Publish(ctxT(t), sid, "free", "live"); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteData(sid, "@setDataFrame", "onMetaData", map[string]any{"width": 320}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMedia(sid, rtmpmsg.TypeAudio, 40, []byte{0xaf, 0x01}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStream(sid); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-done
}

// A caller that never drains Events() must still be able to Close.
func TestCloseWithFullEvents(t *testing.T) {
	t.Parallel()
	url, _ := startFake(t, func(s *fakeServer) {
		s.acceptConnect()
		for range 10 {
			s.send(1, rtmpmsg.TypeAudio, []byte{0xaf, 1})
		}
		s.waitClose()
	})
	c, err := Dial(ctxT(t), url, Options{EventBuffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Events() // the read loop is now blocked or about to be
	c.Close()
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("err = %v", c.Err())
	}
	for range c.Events() { // closed after the buffered ones
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, addr, app string
		bad           bool
	}{
		{in: "rtmp://h/live", addr: "h:1935", app: "live"},
		{in: "rtmp://h:1936/live/room", addr: "h:1936", app: "live/room"},
		{in: "rtmp://127.0.0.1/live/room?token=x&y=1", addr: "127.0.0.1:1935", app: "live/room?token=x&y=1"},
		{in: "rtmp://[::1]/live", addr: "[::1]:1935", app: "live"},
		{in: "rtmp://h/my%20app", addr: "h:1935", app: "my app"},
		{in: "http://h/live", bad: true},
		{in: "rtmp://h", bad: true},
		{in: "rtmp:///live", bad: true},
		{in: "::", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseURL(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && (got.Addr != tc.addr || got.App != tc.app || got.TcURL != tc.in)) {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// aggregate builds a type 22 payload from FLV-tag-like sub-messages.
func aggregate(parts ...[]byte) []byte {
	var b []byte
	for i, body := range parts {
		typ := byte(rtmpmsg.TypeAudio)
		if i == len(parts)-1 && body == nil { // a nested aggregate marker
			typ, body = rtmpmsg.TypeAggregate, []byte{0}
		}
		b = append(b, typ, 0, 0, byte(len(body)), 0, 0, byte(10*i), 0, 0, 0, 0)
		b = append(b, body...)
		b = binary.BigEndian.AppendUint32(b, uint32(11+len(body)))
	}
	return b
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	url, _ := startFake(t, func(s *fakeServer) {
		s.acceptConnect()
		s.send(1, rtmpmsg.TypeAggregate, aggregate([]byte{0xaf, 1}, []byte{0xaf, 2}))
		s.send(1, rtmpmsg.TypeAggregate, aggregate([]byte{0xaf, 3}, nil))
		s.waitClose()
	})
	c, err := Dial(ctxT(t), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		ev, err := c.NextEvent(ctxT(t))
		if err != nil || ev.Kind != EventMedia || ev.Payload[1] != byte(i+1) {
			t.Fatalf("event %d: %+v, %v", i, ev, err)
		}
	}
	if _, err := c.NextEvent(ctxT(t)); !errors.Is(err, ErrClosed) || !errors.Is(c.Err(), errNestedAggregate) {
		t.Fatalf("nested aggregate: %v / %v", err, c.Err())
	}
}
