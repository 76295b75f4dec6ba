package origin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	gortmpmsg "github.com/yutopp/go-rtmp/message"
)

// gortmpPlayer plays a stream with go-rtmp's client-side protocol stack: its handshake, its chunk
// streamer (chunk reader, chunk writer, message codec) and its AMF codec. go-rtmp v0.0.7's
// ClientConn cannot receive media (the stream it creates has no state handler; the first media
// message panics inside it), so the test drives the layer below it, which is what decodes every
// byte the origin sends.
type gortmpPlayer struct {
	t  *testing.T
	nc net.Conn
	cs *gortmp.ChunkStreamer
}

func dialGoRTMPPlayer(t *testing.T, addr string) *gortmpPlayer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := handshake.HandshakeWithServer(nc, nc, &handshake.Config{}); err != nil {
		t.Fatalf("go-rtmp handshake: %v", err)
	}
	p := &gortmpPlayer{t: t, nc: nc, cs: gortmp.NewChunkStreamer(nc, nc, nil)}
	t.Cleanup(func() { p.cs.Close() })
	return p
}

// command sends an AMF0 command on a message stream.
func (p *gortmpPlayer) command(streamID uint32, name string, txn int64, args ...interface{}) {
	p.t.Helper()
	var body bytes.Buffer
	enc := gortmpmsg.NewAMFEncoder(&body, gortmpmsg.EncodingTypeAMF0)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			p.t.Fatal(err)
		}
	}
	msg := &gortmpmsg.CommandMessage{CommandName: name, TransactionID: txn, Encoding: gortmpmsg.EncodingTypeAMF0, Body: &body}
	if err := p.cs.Write(context.Background(), 3, 0, &gortmp.ChunkMessage{StreamID: streamID, Message: msg}); err != nil {
		p.t.Fatalf("go-rtmp write %s: %v", name, err)
	}
}

// next reads one message, applying the peer's chunk size as go-rtmp's own handler would.
func (p *gortmpPlayer) next() (gortmpmsg.Message, uint32) {
	p.t.Helper()
	var cm gortmp.ChunkMessage
	for {
		_, ts, err := p.cs.Read(&cm)
		if err != nil {
			p.t.Fatalf("go-rtmp read: %v", err)
		}
		if scs, ok := cm.Message.(*gortmpmsg.SetChunkSize); ok {
			if err := p.cs.PeerState().SetChunkSize(scs.ChunkSize); err != nil {
				p.t.Fatal(err)
			}
			continue
		}
		return cm.Message, ts
	}
}

// result waits for the _result of a transaction and returns its AMF0 values after the txn id.
func (p *gortmpPlayer) result(txn int64) []interface{} {
	p.t.Helper()
	for {
		m, _ := p.next()
		cmd, ok := m.(*gortmpmsg.CommandMessage)
		if !ok || cmd.TransactionID != txn {
			continue
		}
		if cmd.CommandName != "_result" {
			p.t.Fatalf("go-rtmp: txn %d answered %s", txn, cmd.CommandName)
		}
		dec := gortmpmsg.NewAMFDecoder(cmd.Body, gortmpmsg.EncodingTypeAMF0)
		var vals []interface{}
		for {
			var v interface{}
			if err := dec.Decode(&v); err != nil {
				return vals
			}
			vals = append(vals, v)
		}
	}
}

// TestGoRTMPPlays: go-rtmp publishes with its ClientConn and plays with its chunk streamer; the
// frames it decodes are the ones published, in order, with their timestamps.
func TestGoRTMPPlays(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	pub := gortmpDial(t, o.addr, nil)
	st, err := pub.CreateStream(nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Publish(&gortmpmsg.NetStreamPublish{PublishingName: "gortmp-play", PublishingType: "live"}); err != nil {
		t.Fatal(err)
	}
	o.waitPublished(t, "live", "gortmp-play")

	pl := dialGoRTMPPlayer(t, o.addr)
	pl.command(0, "connect", 1, map[string]interface{}{"app": "live", "tcUrl": "rtmp://" + o.addr + "/live", "flashVer": "LNX 9,0,124,2"})
	pl.result(1)
	pl.command(0, "createStream", 2, nil)
	vals := pl.result(2)
	if len(vals) < 2 {
		t.Fatalf("createStream _result: %v", vals)
	}
	sid, ok := vals[1].(float64)
	if !ok {
		t.Fatalf("createStream _result stream id: %#v", vals[1])
	}
	pl.command(uint32(sid), "play", 0, nil, "gortmp-play", -1)
	waitFor(t, 5*time.Second, "go-rtmp player subscribed", func() bool { return o.srv.subscriberCount("live", "gortmp-play") == 1 })

	const frames = 30
	for i := 0; i < frames; i++ {
		msg := &gortmpmsg.VideoMessage{Payload: bytes.NewReader(videoFrame(i, i%10 == 0, 600+i))}
		if err := st.Write(6, uint32(i*40), msg); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < frames; {
		m, ts := pl.next()
		v, ok := m.(*gortmpmsg.VideoMessage)
		if !ok {
			continue
		}
		got, err := io.ReadAll(v.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if want := videoFrame(i, i%10 == 0, 600+i); !bytes.Equal(got, want) || ts != uint32(i*40) {
			t.Fatalf("frame %d: go-rtmp decoded %d bytes at %d ms, want %d bytes at %d ms (%s)", i, len(got), ts, len(want), i*40, fmt.Sprintf("%x", got[:min(8, len(got))]))
		}
		i++
	}
}
