package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// playerResult is what one player measured; its goroutine owns it until it returns.
type playerResult struct {
	connected    bool          // connect was accepted
	firstKey     time.Duration // dial → first video keyframe; 0 = none seen
	bytes        uint64        // bytes read after the handshake
	messages     uint64        // audio/video messages
	disconnected bool          // the connection ended before the run did
	err          error         // why it ended early (nil when the run ended it)
}

// player is one playing connection: its setup speaks just enough RTMP (connect, createStream,
// play), then it reads with the raw reader and decodes nothing but commands and control.
type player struct {
	nc        net.Conn
	r         *rawReader
	w         *chunk.Writer
	enc       amf.Encoder
	dec       amf.Decoder
	name      string
	start     time.Time
	windowAck uint64
	lastAck   uint64
	res       playerResult
	batch     *batchConn
	ctrl      [32]byte // scratch for acks and pongs
}

// runPlayer plays name until ctx ends or the connection fails.
func runPlayer(ctx context.Context, cfg *Config, t rtmpclient.Target, name string, local net.Addr) playerResult {
	p := &player{name: name, start: time.Now(), w: chunk.NewWriter()}
	d := net.Dialer{LocalAddr: local, Timeout: cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		if ctx.Err() == nil {
			p.res.err = fmt.Errorf("dial: %w", err)
		}
		return p.res
	}
	p.batch = &batchConn{Conn: nc, interval: cfg.Batch}
	p.nc = p.batch
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	defer nc.Close()
	err = p.run(cfg, t)
	if ctx.Err() == nil {
		p.res.disconnected = true
		p.res.err = err
	}
	return p.res
}

func (p *player) run(cfg *Config, t rtmpclient.Target) error {
	br := bufio.NewReaderSize(p.nc, cfg.ReadBuffer)
	_ = p.nc.SetDeadline(time.Now().Add(cfg.Timeout))
	if err := rtmpconn.ClientHandshake(struct {
		io.Reader
		io.Writer
	}{br, p.nc}); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	p.r = newRawReader(br)
	obj := &amf.Object{Props: []amf.Prop{{Key: "app", Value: t.App}, {Key: "flashVer", Value: "LNX 9,0,124,2"},
		{Key: "tcUrl", Value: t.TcURL}, {Key: "fpad", Value: false}, {Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 4071.0}, {Key: "videoCodecs", Value: 252.0}, {Key: "videoFunction", Value: 1.0},
		{Key: "objectEncoding", Value: 0.0}}}
	if err := p.command(0, "connect", 1, obj); err != nil {
		return err
	}
	for {
		m, err := p.r.next()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := p.handle(m); err != nil {
			return err
		}
		if err := p.account(); err != nil {
			return err
		}
	}
}

// account records the bytes read and acknowledges them once per server window.
func (p *player) account() error {
	p.res.bytes = p.r.read
	if p.windowAck == 0 || p.r.read-p.lastAck < p.windowAck {
		return nil
	}
	p.lastAck = p.r.read
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(p.r.read))
	return p.control(rtmpmsg.TypeAck, b[:])
}

// handle is the per-message path: media is counted from its header only.
func (p *player) handle(m rawMsg) error {
	switch m.typeID {
	case rtmpmsg.TypeVideo:
		p.res.messages++
		if p.res.firstKey == 0 && isKeyframe(m.head) {
			p.res.firstKey = time.Since(p.start)
			p.batch.batching = true // measured: from now on, read in batches
		}
	case rtmpmsg.TypeAudio, rtmpmsg.TypeAggregate:
		p.res.messages++
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(m.payload)
		if err == nil {
			err = p.r.setChunkSize(n)
		}
		return err
	case rtmpmsg.TypeWindowAckSize:
		n, err := rtmpmsg.ParseWindowAckSize(m.payload)
		p.windowAck = uint64(n)
		return err
	case rtmpmsg.TypeUserControl:
		return p.userControl(m.payload)
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		return p.onCommand(m)
	}
	return nil
}

// isKeyframe reads an FLV video tag's first bytes: frame type 1, and not a sequence header
// (AVC/HEVC packet type 0, or enhanced RTMP's SequenceStart/Metadata packets).
func isKeyframe(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	if head[0]&0x80 != 0 { // enhanced RTMP: frame type in bits 4..6, packet type in 0..3
		pt := head[0] & 0x0f
		return (head[0]>>4)&7 == 1 && (pt == 1 || pt == 3)
	}
	if head[0]>>4 != 1 {
		return false
	}
	codec := head[0] & 0x0f
	return !(codec == 7 || codec == 12) || len(head) < 2 || head[1] != 0
}

func (p *player) userControl(payload []byte) error {
	uc, err := rtmpmsg.ParseUserControl(payload)
	if err != nil || uc.Event != rtmpmsg.EventPingRequest {
		return err
	}
	b := binary.BigEndian.AppendUint16(nil, rtmpmsg.EventPingResponse)
	return p.control(rtmpmsg.TypeUserControl, binary.BigEndian.AppendUint32(b, uc.Data))
}

// control writes a protocol control message (one chunk on csid 2) from the scratch buffer.
func (p *player) control(typeID uint8, payload []byte) error {
	b := append(p.ctrl[:0], 2, 0, 0, 0, 0, 0, byte(len(payload)), typeID, 0, 0, 0, 0)
	b = append(b, payload...)
	_ = p.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := p.nc.Write(b)
	return err
}

// onCommand drives setup: connect → createStream → play; an _error ends the player.
func (p *player) onCommand(m rawMsg) error {
	cmd, err := rtmpmsg.DecodeCommand(m.typeID, m.payload, &p.dec)
	if err != nil {
		return fmt.Errorf("command: %w", err)
	}
	switch {
	case cmd.Name == "_error":
		return fmt.Errorf("%s", statusCode(cmd.Args))
	case cmd.Name == "_result" && cmd.TxnID == 1:
		p.res.connected = true
		_ = p.nc.SetDeadline(time.Time{})
		return p.command(0, "createStream", 2, nil)
	case cmd.Name == "_result" && cmd.TxnID == 2 && len(cmd.Args) > 0:
		sid, _ := cmd.Args[0].(float64)
		buf := rtmpmsg.AppendUserControl(nil, rtmpmsg.EventSetBufferLength, uint32(sid), 1000)
		if err := p.control(rtmpmsg.TypeUserControl, buf); err != nil {
			return err
		}
		return p.command(uint32(sid), "play", 0, nil, p.name, -2.0)
	case cmd.Name == "onStatus":
		if code := statusCode(cmd.Args); isFatalStatus(code) {
			return errors.New(code)
		}
	}
	return nil
}

func statusCode(args []any) string {
	if len(args) > 0 {
		if o, ok := args[len(args)-1].(*amf.Object); ok {
			return o.String("code")
		}
	}
	return "error without info"
}

func isFatalStatus(code string) bool {
	switch code {
	case "NetStream.Play.StreamNotFound", "NetStream.Play.Failed", "NetStream.Failed":
		return true
	}
	return false
}

func (p *player) command(streamID uint32, name string, txn float64, obj any, args ...any) error {
	payload, err := rtmpmsg.AppendCommand(nil, &p.enc, false, name, txn, obj, args...)
	if err != nil {
		return err
	}
	csid := uint32(3)
	if streamID != 0 {
		csid = 8
	}
	bufs := p.w.Append(nil, chunk.Header{CSID: csid, TypeID: rtmpmsg.TypeCommandAMF0, StreamID: streamID}, payload)
	_, err = bufs.WriteTo(p.nc)
	p.w.Reset()
	return err
}

// batchConn makes a player read in batches once its latency is measured: after a short read it
// waits a little so that the next read returns many messages at once. A 2 Mb/s stream otherwise
// costs a wake-up and a read for every frame, as much CPU as the server spends sending it.
type batchConn struct {
	net.Conn
	interval time.Duration
	batching bool
}

// shortRead is the size under which the socket was nearly drained.
const shortRead = 16 << 10

func (c *batchConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.batching && c.interval > 0 && n < shortRead && err == nil {
		time.Sleep(c.interval)
	}
	return n, err
}
