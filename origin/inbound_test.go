package origin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// partialVideo is the first n bytes of a video message of size bytes, chunked at chunkSize.
func partialVideo(size, n int, chunkSize uint32) []byte {
	return chunkBytes(chunk.Header{CSID: 6, TypeID: rtmpmsg.TypeVideo, StreamID: 1}, make([]byte, size), chunkSize)[:n]
}

// TestPreConnectLimits: a socket that shook hands and announces a 2 MiB message before connect
// is closed at its header (before, it could hold 16 MiB of partial messages per connection);
// once connect was accepted, a 2 MiB keyframe is read like any other.
func TestPreConnectLimits(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	hostile := rawConn(t, o.addr, true)
	if _, err := hostile.Write(partialVideo(2<<20, 4096, 128)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, hostile, 5*time.Second)
	waitFor(t, 5*time.Second, "the log line saying why the message was refused", func() bool {
		return strings.Contains(o.logs.String(), "larger than the limit")
	})

	pub := dial(t, o.url("live"), rtmpclient.Options{ChunkSize: 4096})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "big", "live"); err != nil {
		t.Fatal(err)
	}
	key := videoFrame(0, true, 2<<20)
	if err := pub.WriteMedia(sid, rtmpmsg.TypeVideo, 0, key); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Call(ctx5(t), "_checkbw"); err != nil { // answered only after the keyframe was read
		t.Fatalf("connected client after a 2 MiB keyframe: %v", err)
	}
}

// TestConnectDeadline: a socket that shakes hands and then says nothing is closed at the connect
// deadline instead of being held (and pinged) for the idle timeout.
func TestConnectDeadline(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.ConnectTimeout = 300 * time.Millisecond })
	silent := rawConn(t, o.addr, true)
	expectClosed(t, silent, 5*time.Second)
	waitFor(t, 5*time.Second, "the log line saying why the silent socket was closed", func() bool {
		return strings.Contains(o.logs.String(), "no connect accepted in time")
	})
	c := dial(t, o.url("live"), rtmpclient.Options{}) // a prompt client is not affected
	if _, err := c.Call(ctx5(t), "_checkbw"); err != nil {
		t.Fatal(err)
	}
}

// TestInboundBudgetClosesLargestHolder: with a 2.5 MiB budget for all clients' buffers, a
// connected client stalls in the middle of a 4 MiB message holding 2 MiB; a publisher's 1 MiB
// keyframe then passes the budget, and the stalled client (the largest holder) is closed while
// the publisher goes on.
func TestInboundBudgetClosesLargestHolder(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Limits.InboundBufferBytes = 5 << 19 })
	budget := o.srv.cfg.Limits.Conn.InboundBudget

	hostile := newRaw(t, o.addr)
	hostile.cmd(3, 0, "connect", 1, &amf.Object{Props: []amf.Prop{{Key: "app", Value: "live"}}})
	hostile.until(isCommand("_result"))
	hostile.send(chunk.Header{CSID: 2, TypeID: rtmpmsg.TypeSetChunkSize}, rtmpmsg.AppendSetChunkSize(nil, 65536))
	if _, err := hostile.c.Write(partialVideo(4<<20-1, 3<<19, 65536)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stalled message to be buffered", func() bool { return budget.Held() >= 2<<20 })

	pub := dial(t, o.url("live"), rtmpclient.Options{ChunkSize: 4096})
	sid, err := pub.CreateStream(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx5(t), sid, "cam", "live"); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteMedia(sid, rtmpmsg.TypeVideo, 0, videoFrame(0, true, 1<<20)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, hostile.c, 5*time.Second)
	for i := range 3 {
		if _, err := pub.Call(ctx5(t), "_checkbw"); err != nil {
			t.Fatalf("publisher, call %d after the eviction: %v", i, err)
		}
	}
	if n := budget.Evictions(); n != 1 {
		t.Fatalf("%d evictions, want 1", n)
	}
	var m bytes.Buffer
	for _, x := range o.srv.Metrics() {
		if strings.HasPrefix(x.Name, "fmsgo_inbound_") {
			m.WriteString(x.Name + " ")
		}
	}
	if !strings.Contains(m.String(), "fmsgo_inbound_budget_evictions_total") {
		t.Errorf("metrics: %s", m.String())
	}
	waitFor(t, 5*time.Second, "the log line saying why the stalled client was closed", func() bool {
		return strings.Contains(o.logs.String(), "inbound buffer budget")
	})
}
