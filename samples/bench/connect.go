package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// rawConnector opens RTMP connections the cheapest correct way a client can, so that the connect
// bench measures the server and not the load generator: the plain handshake, C2 and the connect
// command in one write, and one goroutine per connection reading the answer with the project's
// chunk reader. Our full client (core/rtmpclient) spends several times the server's CPU per
// connect on its goroutines, events and calls; on a 2-core machine it would cap the measured rate.
type rawConnector struct {
	addr       string
	c0c1       []byte
	connectMsg []byte // the connect command, chunked at 128 bytes (the client's default chunk size)
	buf        []byte
}

func newRawConnector(addr, app, tcURL string) (*rawConnector, error) {
	c0c1 := make([]byte, 1537)
	c0c1[0] = 3
	if _, err := rand.Read(c0c1[9:]); err != nil { // time 0, zero field 0: the plain handshake
		return nil, err
	}
	obj := &amf.Object{Props: []amf.Prop{
		{Key: "app", Value: app}, {Key: "flashVer", Value: "LNX 9,0,124,2"},
		{Key: "tcUrl", Value: tcURL}, {Key: "fpad", Value: false}, {Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 4071.0}, {Key: "videoCodecs", Value: 252.0},
		{Key: "objectEncoding", Value: 0.0},
	}}
	var e amf.Encoder
	payload, err := rtmpmsg.AppendCommand(nil, &e, false, "connect", 1, obj)
	if err != nil {
		return nil, err
	}
	w := chunk.NewWriter()
	bufs := w.Append(nil, chunk.Header{CSID: 3, Length: uint32(len(payload)), TypeID: rtmpmsg.TypeCommandAMF0}, payload)
	var msg []byte
	for _, b := range bufs {
		msg = append(msg, b...)
	}
	return &rawConnector{addr: addr, c0c1: c0c1, connectMsg: msg}, nil
}

// connect dials, connects and returns once the server's _result arrived; it leaves the socket
// open for the caller to close (a real client would stay).
func (r *rawConnector) connect(conn *connScratch) (net.Conn, error) {
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := conn.run(nc, r); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// connScratch is one worker's reusable buffers.
type connScratch struct {
	s0s1s2 []byte
	out    []byte
	br     *bufio.Reader
	rd     *chunk.Reader // the connection's chunk reader, which an RPC caller goes on reading with
	window uint32        // the server's window acknowledgement size, when it announced one
	dec    amf.Decoder
}

func newConnScratch() *connScratch {
	return &connScratch{s0s1s2: make([]byte, 3073), br: bufio.NewReaderSize(nil, 4096)}
}

func (cs *connScratch) run(nc net.Conn, r *rawConnector) error {
	if _, err := nc.Write(r.c0c1); err != nil {
		return err
	}
	if _, err := io.ReadFull(nc, cs.s0s1s2); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	cs.out = append(append(cs.out[:0], cs.s0s1s2[1:1537]...), r.connectMsg...) // C2 echoes S1
	if _, err := nc.Write(cs.out); err != nil {
		return err
	}
	cs.br.Reset(nc)
	return cs.awaitResult()
}

// awaitResult reads messages until connect's answer: _result succeeds, anything else fails.
func (cs *connScratch) awaitResult() error {
	cs.rd, cs.window = chunk.NewReader(cs.br, chunk.DefaultLimits()), 0
	rd := cs.rd
	for {
		h, p, err := rd.ReadMessage()
		if err != nil {
			return err
		}
		switch h.TypeID {
		case rtmpmsg.TypeSetChunkSize:
			n, err := rtmpmsg.ParseSetChunkSize(p)
			if err != nil {
				return err
			}
			if err := rd.SetChunkSize(n); err != nil {
				return err
			}
		case rtmpmsg.TypeWindowAckSize:
			if cs.window, err = rtmpmsg.ParseWindowAckSize(p); err != nil {
				return err
			}
		case rtmpmsg.TypeCommandAMF0:
			cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, &cs.dec)
			if err != nil {
				return err
			}
			if cmd.Name == "_result" {
				return nil
			}
			if cmd.Name == "_error" {
				return errors.New("connect rejected")
			}
		}
	}
}
