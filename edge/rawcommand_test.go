package edge

import (
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestMalformedCommandThroughEdge: the edge relays a connected client's commands undecoded, so
// the origin's session judges them: a command message that is not AMF ends that client, as it
// would end a direct one, and the other clients of the same edge and instance go on.
func TestMalformedCommandThroughEdge(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"raw": "Client.prototype.ping = function () { return 'pong'; };\n"})
	e := startEdge(t, "", o)
	bad := dial(t, e.url("raw"), rtmpclient.Options{})
	good := dial(t, e.url("raw"), rtmpclient.Options{})
	if v, err := bad.Call(ctx5(t), "ping"); err != nil || v != "pong" {
		t.Fatalf("relayed call before the bad one: %v %v", v, err)
	}
	garbage := []byte{0x02, 0x00, 0x04, 'p', 'i', 'n', 'g', 0x00, 0x40, 0x08} // "ping", then a number cut short
	if err := bad.WriteMessage(chunk.Header{CSID: 3, TypeID: rtmpmsg.TypeCommandAMF0}, garbage); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bad.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client that sent a malformed command is still connected")
	}
	if v, err := good.Call(ctx5(t), "ping"); err != nil || v != "pong" {
		t.Fatalf("another client after it: %v %v", v, err)
	}
}
