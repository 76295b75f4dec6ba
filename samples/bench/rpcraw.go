package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// caller is one RPC client connection of the load tool.
type caller interface {
	call(ctx context.Context) error
	Close() error
}

// dialCaller connects one client to url, until deadline: the raw caller, or with full the
// project's complete client (core/rtmpclient).
func dialCaller(ctx context.Context, url, method string, args []any, full bool, deadline time.Time) (caller, error) {
	if full {
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		if err != nil {
			return nil, err
		}
		return &fullCaller{c: c, method: method, args: args}, nil
	}
	return dialRawCaller(url, method, args, deadline)
}

// fullCaller calls through core/rtmpclient: its read goroutine, events and pending calls cost
// this process several times what the raw caller does.
type fullCaller struct {
	c      *rtmpclient.Client
	method string
	args   []any
}

func (f *fullCaller) call(ctx context.Context) error {
	_, err := f.c.Call(ctx, f.method, f.args...)
	return err
}

func (f *fullCaller) Close() error { return f.c.Close() }

// rawCaller calls the cheapest correct way a client can, so that a saturated RPC run measures
// the server and not the load tool on the same two cores: it connects as rawConnector does, then
// each call is one write of a message built once (its transaction id patched in) and a read of
// the answer on the same goroutine with the project's chunk reader, decoding nothing of it but
// the command's name and transaction id. It acknowledges bytes per the server's window and
// answers pings, as a client must.
type rawCaller struct {
	nc     net.Conn
	cs     *connScratch
	msg    []byte // the call: a type-0 chunk header and the command, in one chunk
	txnAt  int    // offset of the transaction id's 8 bytes in msg
	txn    float64
	window uint32 // the server's window acknowledgement size (0: none announced)
	acked  uint64 // bytes read when the last acknowledgement was sent
}

func dialRawCaller(rawURL, method string, args []any, deadline time.Time) (*rawCaller, error) {
	t, err := rtmpclient.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	msg, txnAt, err := rawCall(method, args)
	if err != nil {
		return nil, err
	}
	rc, err := newRawConnector(t.Addr, t.App, t.TcURL)
	if err != nil {
		return nil, err
	}
	cs := newConnScratch()
	nc, err := rc.connect(cs)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(deadline)
	return &rawCaller{nc: nc, cs: cs, msg: msg, txnAt: txnAt, txn: 1, window: cs.window}, nil
}

// rawCall is the command message of a call in one chunk, and where its transaction id is.
func rawCall(method string, args []any) ([]byte, int, error) {
	var e amf.Encoder
	payload, err := rtmpmsg.AppendCommand(nil, &e, false, method, 0, nil, args...)
	if err != nil {
		return nil, 0, err
	}
	txnAt := 1 + 2 + len(method) + 1 // string marker, length, name, number marker
	if len(payload) > 128 {          // the client's chunk size: one chunk, one header
		return nil, 0, fmt.Errorf("call %s: %d bytes, more than one chunk", method, len(payload))
	}
	w := chunk.NewWriter() // a fresh writer's first header is a full one: the bytes can be sent again
	var msg []byte
	for _, b := range w.Append(nil, chunk.Header{CSID: 3, Length: uint32(len(payload)), TypeID: rtmpmsg.TypeCommandAMF0}, payload) {
		msg = append(msg, b...)
	}
	return msg, len(msg) - len(payload) + txnAt, nil
}

// call sends the next call and reads until its answer.
func (r *rawCaller) call(context.Context) error {
	r.txn++
	binary.BigEndian.PutUint64(r.msg[r.txnAt:], math.Float64bits(r.txn))
	if _, err := r.nc.Write(r.msg); err != nil {
		return err
	}
	for {
		h, p, err := r.cs.rd.ReadMessage()
		if err != nil {
			return err
		}
		done, err := r.handle(h, p)
		if err == nil {
			err = r.ack()
		}
		if done || err != nil {
			return err
		}
	}
}

// handle looks at one message from the server: done when it is this call's answer.
func (r *rawCaller) handle(h chunk.Header, p []byte) (done bool, err error) {
	switch h.TypeID {
	case rtmpmsg.TypeCommandAMF0:
		name, txn, ok := commandHead(p)
		if ok && txn == r.txn && (string(name) == "_result" || string(name) == "_error") {
			if string(name) == "_error" {
				return true, errors.New("call answered _error")
			}
			return true, nil
		}
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(p)
		if err != nil {
			return false, err
		}
		return false, r.cs.rd.SetChunkSize(n)
	case rtmpmsg.TypeWindowAckSize:
		r.window, err = rtmpmsg.ParseWindowAckSize(p)
		return false, err
	case rtmpmsg.TypeUserControl:
		uc, err := rtmpmsg.ParseUserControl(p)
		if err == nil && uc.Event == rtmpmsg.EventPingRequest {
			return false, r.send(rtmpmsg.TypeUserControl, rtmpmsg.AppendUserControl(nil, rtmpmsg.EventPingResponse, uc.Data))
		}
	}
	return false, nil
}

// commandHead reads an AMF0 command's name and transaction id without decoding the rest.
func commandHead(p []byte) (name []byte, txn float64, ok bool) {
	if len(p) < 3 || p[0] != 0x02 {
		return nil, 0, false
	}
	n := int(binary.BigEndian.Uint16(p[1:3]))
	if len(p) < 3+n+9 || p[3+n] != 0x00 {
		return nil, 0, false
	}
	return p[3 : 3+n], math.Float64frombits(binary.BigEndian.Uint64(p[4+n:])), true
}

// ack sends an acknowledgement once a window's worth of bytes arrived since the last.
func (r *rawCaller) ack() error {
	n := r.cs.rd.BytesRead()
	if r.window == 0 || n-r.acked < uint64(r.window) {
		return nil
	}
	r.acked = n
	return r.send(rtmpmsg.TypeAck, rtmpmsg.AppendAck(nil, uint32(n)))
}

// send writes one protocol control message on chunk stream 2.
func (r *rawCaller) send(typeID uint8, payload []byte) error {
	w := chunk.NewWriter()
	for _, b := range w.Append(nil, chunk.Header{CSID: 2, Length: uint32(len(payload)), TypeID: typeID}, payload) {
		if _, err := r.nc.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (r *rawCaller) Close() error { return r.nc.Close() }
