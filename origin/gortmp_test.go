package origin

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	gortmp "github.com/yutopp/go-rtmp"
	gortmpmsg "github.com/yutopp/go-rtmp/message"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

func gortmpDial(t *testing.T, addr string, h gortmp.Handler) *gortmp.ClientConn {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	if testing.Verbose() {
		log.SetOutput(os.Stderr)
		log.SetLevel(logrus.DebugLevel)
	}
	c, err := gortmp.Dial("rtmp", addr, &gortmp.ConnConfig{Handler: h, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Connect(&gortmpmsg.NetConnectionConnect{Command: gortmpmsg.NetConnectionConnectCommand{App: "live", TCURL: "rtmp://" + addr + "/live"}}); err != nil {
		t.Fatalf("go-rtmp connect: %v", err)
	}
	return c
}

// TestGoRTMPClient: go-rtmp's client (an implementation written by someone else) publishes to
// the origin, our player receives it; and go-rtmp plays it back.
func TestGoRTMPClient(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	pub := gortmpDial(t, o.addr, nil)
	st, err := pub.CreateStream(nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Publish(&gortmpmsg.NetStreamPublish{PublishingName: "gortmp", PublishingType: "live"}); err != nil {
		t.Fatal(err)
	}
	o.waitPublished(t, "live", "gortmp")

	player := dial(t, o.url("live"), rtmpclient.Options{})
	psid, _ := player.CreateStream(ctx5(t))
	player.Play(psid, "gortmp", -1)

	// go-rtmp v0.0.7 cannot play: ClientConn.CreateStream leaves the new stream's state handler
	// nil, so the first media message on it panics inside go-rtmp (recovered as a disconnect).
	// Its playing side is therefore exercised only as far as it goes: connect, createStream and
	// play are accepted, and the session is subscribed.
	gp := gortmpDial(t, o.addr, &gortmp.DefaultHandler{})
	gst, err := gp.CreateStream(nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var args bytes.Buffer
	enc := gortmpmsg.NewAMFEncoder(&args, gortmpmsg.EncodingTypeAMF0)
	for _, v := range []interface{}{nil, "gortmp", -1} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := gst.Write(8, 0, &gortmpmsg.CommandMessage{CommandName: "play", Encoding: gortmpmsg.EncodingTypeAMF0, Body: &args}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both players subscribed", func() bool { return o.srv.subscriberCount("live", "gortmp") == 2 })

	const frames = 30
	for i := 0; i < frames; i++ {
		msg := &gortmpmsg.VideoMessage{Payload: bytes.NewReader(videoFrame(i, i%10 == 0, 600))}
		if err := st.Write(6, uint32(i*40), msg); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	ctx := ctx5(t)
	for got < frames {
		ev, err := player.NextEvent(ctx)
		if err != nil {
			t.Fatalf("our player after %d frames: %v", got, err)
		}
		if ev.Kind == rtmpclient.EventMedia && ev.TypeID == 9 {
			got++
		}
	}
}
