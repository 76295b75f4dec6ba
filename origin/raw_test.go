package origin

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// rawSession speaks RTMP byte by byte, the way a particular client does, to check the exact
// messages the server answers with (CLIENTS.md rows).
type rawSession struct {
	t   *testing.T
	c   net.Conn
	r   *chunk.Reader
	w   *chunk.Writer
	dec amf.Decoder
}

func newRaw(t *testing.T, addr string) *rawSession {
	c := rawConn(t, addr, true)
	return &rawSession{t: t, c: c, r: chunk.NewReader(bufio.NewReader(c), chunk.DefaultLimits()), w: chunk.NewWriter()}
}

func (s *rawSession) send(h chunk.Header, payload []byte) {
	s.t.Helper()
	bufs := s.w.Append(nil, h, payload)
	if _, err := bufs.WriteTo(s.c); err != nil {
		s.t.Fatal(err)
	}
	s.w.Reset()
	if h.TypeID == rtmpmsg.TypeSetChunkSize {
		n, _ := rtmpmsg.ParseSetChunkSize(payload)
		s.w.SetChunkSize(n)
	}
}

// cmd sends an AMF0 command on csid.
func (s *rawSession) cmd(csid, sid uint32, name string, txn float64, obj any, args ...any) {
	s.t.Helper()
	var e amf.Encoder
	p, err := rtmpmsg.AppendCommand(nil, &e, false, name, txn, obj, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(chunk.Header{CSID: csid, TypeID: rtmpmsg.TypeCommandAMF0, StreamID: sid}, p)
}

// rawMsg is one message from the server, decoded where it is a command or data.
type rawMsg struct {
	h    chunk.Header
	p    []byte
	cmd  *rtmpmsg.Command
	data *rtmpmsg.Data
}

func (m rawMsg) code() string {
	if m.cmd == nil || len(m.cmd.Args) == 0 {
		return ""
	}
	o, _ := m.cmd.Args[len(m.cmd.Args)-1].(*amf.Object)
	if o == nil {
		return ""
	}
	return o.String("code")
}

// next returns the next message, applying the server's chunk size.
func (s *rawSession) next() rawMsg {
	s.t.Helper()
	s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, p, err := s.r.ReadMessage()
	if err != nil {
		s.t.Fatalf("reading: %v", err)
	}
	m := rawMsg{h: h, p: append([]byte(nil), p...)}
	switch h.TypeID {
	case rtmpmsg.TypeSetChunkSize:
		n, _ := rtmpmsg.ParseSetChunkSize(p)
		s.r.SetChunkSize(n)
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		c, err := rtmpmsg.DecodeCommand(h.TypeID, p, &s.dec)
		if err != nil {
			s.t.Fatal(err)
		}
		m.cmd = &c
	case rtmpmsg.TypeDataAMF0:
		d, err := rtmpmsg.DecodeData(h.TypeID, p, &s.dec)
		if err != nil {
			s.t.Fatal(err)
		}
		m.data = &d
	}
	return m
}

// until reads messages until one matches, returning it and everything before it.
func (s *rawSession) until(match func(rawMsg) bool) (rawMsg, []rawMsg) {
	s.t.Helper()
	var seen []rawMsg
	for i := 0; i < 200; i++ {
		m := s.next()
		if match(m) {
			return m, seen
		}
		seen = append(seen, m)
	}
	s.t.Fatal("expected message never came")
	return rawMsg{}, nil
}

func isCommand(name string) func(rawMsg) bool {
	return func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == name }
}

func isStatus(code string) func(rawMsg) bool {
	return func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "onStatus" && m.code() == code }
}

func obsConnectObject(app, tcURL string) *amf.Object {
	// OBS: type nonprivate, FMLE flashVer, swfUrl = tcUrl, no objectEncoding (CLIENTS.md #1)
	return &amf.Object{Props: []amf.Prop{
		{Key: "app", Value: app}, {Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: "FMLE/3.0 (compatible; FMSc/1.0)"},
		{Key: "swfUrl", Value: tcURL}, {Key: "tcUrl", Value: tcURL},
	}}
}
