package origin

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// rawConn dials and, if handshake is set, completes a plain handshake.
func rawConn(t *testing.T, addr string, handshake bool) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if handshake {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := rtmpconn.ClientHandshake(c); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Time{})
	}
	return c
}

// expectClosed reads until the server closes the connection, within a bound.
func expectClosed(t *testing.T, c net.Conn, bound time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server did not close the connection within %v", bound)
	}
}

func chunkBytes(h chunk.Header, payload []byte, chunkSize uint32) []byte {
	w := chunk.NewWriter()
	w.SetChunkSize(chunkSize)
	var out bytes.Buffer
	bufs := w.Append(nil, h, payload)
	bufs.WriteTo(&out)
	return out.Bytes()
}

func connectPayload(extra ...byte) []byte {
	var e amf.Encoder
	p := amf.AppendString0(nil, "connect")
	p, _ = e.AppendAMF0(p, 1.0)
	p, _ = e.AppendAMF0(p, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}}})
	return append(p, extra...)
}

func TestHostileInputClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	deep := bytes.Repeat([]byte{0x0A, 0, 0, 0, 1}, 5000)
	var manyCSIDs bytes.Buffer
	for i := 0; i < 100000; i++ {
		manyCSIDs.Write([]byte{0x01, byte(i), byte(i >> 8), 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0})
	}
	cases := []struct {
		name      string
		handshake bool
		data      []byte
	}{
		{"garbage before handshake", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 2000))},
		{"RTMPE", false, append([]byte{6}, make([]byte, 1536)...)},
		{"truncated handshake", false, []byte{3, 0, 0}},
		{"garbage after handshake", true, bytes.Repeat([]byte{0xFF}, 4096)},
		{"chunk size 0", true, chunkBytes(chunk.Header{CSID: 2, TypeID: 1}, rtmpmsg.AppendUserControl(nil, 0, 0)[2:], 128)},
		{"message over the size limit", true, chunkBytes(chunk.Header{CSID: 2, TypeID: 1}, rtmpmsg.AppendSetChunkSize(nil, 1<<31-1), 128)[:16+0] /* chunk size 2^31-1 */},
		{"100k chunk stream ids", true, manyCSIDs.Bytes()},
		{"strict array of 2^31", true, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, connectPayload(0x0A, 0x7F, 0xFF, 0xFF, 0xFF), 128)},
		{"deep nesting", true, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, append(connectPayload(), deep...), 128)},
		{"truncated command", true, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, connectPayload()[:9], 128)},
		{"command before connect", true, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, append(amf.AppendString0(nil, "createStream"), 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 5), 128)},
	}
	// a huge announced message: a header of 16 MiB - 1 that is never sent: refused at once (over
	// the message limit), nothing allocated.
	cases[5].data = []byte{0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0}
	// then the same after a huge chunk size: set chunk size 2^31-1 is accepted (buffers follow
	// the bytes that arrive), the 16 MiB - 1 header is refused over the message limit
	huge := chunkBytes(chunk.Header{CSID: 2, TypeID: 1}, rtmpmsg.AppendSetChunkSize(nil, 1<<31-1), 128)
	huge = append(huge, 0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0)
	cases = append(cases, struct {
		name      string
		handshake bool
		data      []byte
	}{"chunk size 2^31-1", true, huge})
	// a chunk size of 0 is Set Chunk Size with a zero payload
	cases[4].data = chunkBytes(chunk.Header{CSID: 2, TypeID: 1}, []byte{0, 0, 0, 0}, 128)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := rawConn(t, o.addr, c.handshake)
			conn.Write(c.data)
			if c.name == "truncated handshake" || c.name == "truncated command" {
				conn.(*net.TCPConn).CloseWrite() // then nothing more: the server must not hang
			}
			expectClosed(t, conn, 15*time.Second)
		})
	}
	t.Cleanup(func() {
		// the server still serves others, and said why it closed each one
		c, err := rtmpclient.Dial(ctx5(t), o.url("live"), rtmpclient.Options{})
		if err != nil {
			t.Errorf("server no longer serves: %v", err)
			return
		}
		c.Close()
		logs := o.logs.String()
		for _, want := range []string{"handshake", "chunk size", "too many chunk streams", "larger than the limit", "nesting too deep", "command \\\"createStream\\\" before connect"} {
			if !strings.Contains(logs, want) {
				t.Errorf("no log line mentioning %q", want)
			}
		}
	})
}

// TestStalledHugeMessageIsBounded: a client announces a 7 MiB message and sends only part of it;
// the server holds only what arrived, and the idle timeout eventually frees it (not waited here).
func TestStalledPartialMessageDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	conn := rawConn(t, o.addr, true)
	hdr := []byte{0x06, 0, 0, 0, 0x70, 0, 0, 9, 1, 0, 0, 0}
	conn.Write(hdr)
	conn.Write(make([]byte, 100)) // then nothing
	c := dial(t, o.url("live"), rtmpclient.Options{})
	if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatal(err)
	}
}

// TestClientThatNeverReads: a player that never reads is cut off; the publisher and a normal
// player are not slowed.
func TestClientThatNeverReads(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(cfg *Config) {
		cfg.Limits.Live.CutOffAfter = 500 * time.Millisecond
		cfg.Limits.Conn.WriteTimeout = 2 * time.Second
		cfg.Limits.PlayerQueueBytes = 256 << 10
	})
	pub, sid := startPublisher(t, o, "live", "stuck")
	publishHeaders(t, pub, sid)

	stuck := rawConn(t, o.addr, true)
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	var p []byte
	p = append(p, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, connectPayload(), 128)...)
	var e amf.Encoder
	cs := amf.AppendString0(nil, "createStream")
	cs, _ = e.AppendAMF0(cs, 2.0)
	cs = append(cs, 0x05)
	p = append(p, chunkBytes(chunk.Header{CSID: 3, TypeID: 20}, cs, 128)...)
	play := amf.AppendString0(nil, "play")
	play, _ = e.AppendAMF0(play, 0.0)
	play = append(play, 0x05)
	play = amf.AppendString0(play, "stuck")
	p = append(p, chunkBytes(chunk.Header{CSID: 8, TypeID: 20, StreamID: 1}, play, 128)...)
	stuck.Write(p)

	good := dial(t, o.url("live"), rtmpclient.Options{})
	gsid, _ := good.CreateStream(ctx5(t))
	good.Play(gsid, "stuck", -1)
	waitFor(t, 5*time.Second, "2 players", func() bool { return o.srv.subscriberCount("live", "stuck") == 2 })

	frame := make([]byte, 32<<10)
	const frames = 300
	got := make(chan int, 1)
	go func() {
		n, last := 0, -1
		for ev := range good.Events() {
			if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 {
				n++
				if last = int(binary.BigEndian.Uint32(ev.Payload[6:])); last == frames-1 {
					got <- n
					return
				}
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond) // ~50 Mb/s: far more than the stuck player's queue and socket hold
	defer tick.Stop()
	for i := 0; i < frames; i++ {
		frame[0] = 0x27
		if i%25 == 0 || i == frames-1 {
			frame[0] = 0x17
		}
		binary.BigEndian.PutUint32(frame[6:], uint32(i))
		if err := pub.WriteMedia(sid, 9, uint32(i*40), frame); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	select {
	case n := <-got:
		t.Logf("normal player: %d of %d frames, the last one %v after the first was sent", n, frames, time.Since(start))
		if n < frames*8/10 {
			t.Fatalf("the normal player lost too much: %d of %d frames", n, frames)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the normal player never got the last frame")
	}
	waitFor(t, 10*time.Second, "the stuck player to be cut off", func() bool { return o.srv.subscriberCount("live", "stuck") == 1 })
	if !strings.Contains(o.logs.String(), "cut off") && !strings.Contains(o.logs.String(), "stopped reading") {
		t.Fatal("no log line about the stuck player")
	}
}
