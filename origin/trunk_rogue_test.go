package origin

// The rogue trunk peer below is written from docs/trunk.md alone: it uses the standard library
// only (no core/trunk, no core/amf), so what it proves holds for any peer that reads the
// document, not only for this project's edge.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"testing"
	"time"
)

// Frame kinds and codes from docs/trunk.md's tables.
const (
	rkServerHello, rkHello, rkHelloAck, rkError              = 0x01, 0x02, 0x03, 0x06
	rkSessionOpen, rkSessionVerdict, rkSessionMessage        = 0x10, 0x11, 0x13
	rkStreamVerdict                                          = 0x15
	rkStreamSubscribe, rkStreamStatus, rkStreamMedia         = 0x20, 0x22, 0x23
	rcAuth, rsOK, rsRejected                          uint16 = 2, 0, 4
)

// rogue speaks the trunk as docs/trunk.md describes it.
type rogue struct {
	nc           net.Conn
	br           *bufio.Reader
	version      uint16
	originNonce  [32]byte
	originID     []byte // the server-hello's id field as sent
	secretNeeded bool
}

type rframe struct {
	kind byte
	id   uint32
	body []byte
}

func rogueDial(t *testing.T, addr string) *rogue {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rogue{nc: nc, br: bufio.NewReader(nc)}
}

func rstr(s string) []byte { return binary.BigEndian.AppendUint16(nil, uint16(len(s))) }

func appendRStr(b []byte, s string) []byte { return append(append(b, rstr(s)...), s...) }

func (r *rogue) send(kind byte, id uint32, body []byte) error {
	b := binary.BigEndian.AppendUint32(nil, uint32(5+len(body)))
	b = binary.BigEndian.AppendUint32(append(b, kind), id)
	_, err := r.nc.Write(append(b, body...))
	return err
}

func (r *rogue) read() (rframe, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		return rframe{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 5 || n > 1<<20 {
		return rframe{}, fmt.Errorf("frame length %d", n)
	}
	body := make([]byte, n-5)
	if _, err := io.ReadFull(r.br, body); err != nil {
		return rframe{}, err
	}
	return rframe{kind: hdr[4], id: binary.BigEndian.Uint32(hdr[5:]), body: body}, nil
}

// serverHello reads "FMTK" | u16 min | u16 max | u8 flags | u32 max frame | 32 nonce | str id.
func (r *rogue) serverHello(t *testing.T) {
	t.Helper()
	f, err := r.read()
	if err != nil || f.kind != rkServerHello || len(f.body) < 4+2+2+1+4+32+2 || string(f.body[:4]) != "FMTK" {
		t.Fatalf("server hello: %+v %v", f, err)
	}
	b := f.body
	r.version = min(binary.BigEndian.Uint16(b[6:]), 3)
	r.secretNeeded = b[8]&1 != 0
	copy(r.originNonce[:], b[13:45])
	r.originID = b[45:] // u16 length + bytes, as the MACs cover it
}

// proof is HMAC-SHA256(secret, "fmsgo-trunk "+role | u16 version | first nonce | second nonce |
// str edge id | str origin id).
func (r *rogue) proof(secret, role string, first, second [32]byte, edgeID string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("fmsgo-trunk " + role))
	h.Write(binary.BigEndian.AppendUint16(nil, r.version))
	h.Write(first[:])
	h.Write(second[:])
	h.Write(appendRStr(nil, edgeID))
	h.Write(r.originID)
	return h.Sum(nil)
}

// hello sends "FMTK" | u16 version | u8 flags | u32 max frame | 32 nonce | str edge id | 32 MAC,
// with a MAC made from secret ("" = flags 0 and a zero MAC), and returns the answer.
func (r *rogue) hello(t *testing.T, secret string) (rframe, [32]byte, error) {
	t.Helper()
	const edgeID = "rogue-edge"
	var nonce [32]byte
	_, _ = rand.Read(nonce[:])
	b := binary.BigEndian.AppendUint16([]byte("FMTK"), r.version)
	flags, mac := byte(0), make([]byte, 32)
	if secret != "" {
		flags, mac = 1, r.proof(secret, "edge", r.originNonce, nonce, edgeID)
	}
	b = binary.BigEndian.AppendUint32(append(b, flags), 1<<20)
	b = append(appendRStr(append(b, nonce[:]...), edgeID), mac...)
	if err := r.send(rkHello, 0, b); err != nil {
		return rframe{}, nonce, err
	}
	f, err := r.read()
	return f, nonce, err
}

// amf0Obj encodes an AMF0 object of string properties: 0x03, (u16 key, 0x02 u16 value)*, 00 00 09.
func amf0Obj(kv ...string) []byte {
	b := []byte{3}
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(appendRStr(b, kv[i]), 2)
		b = appendRStr(b, kv[i+1])
	}
	return append(b, 0, 0, 9)
}

// amf0Command encodes name, transaction id, null, then string arguments.
func amf0Command(name string, txn float64, args ...string) []byte {
	b := appendRStr([]byte{2}, name)
	b = binary.BigEndian.AppendUint64(append(b, 0), math.Float64bits(txn))
	b = append(b, 5)
	for _, a := range args {
		b = appendRStr(append(b, 2), a)
	}
	return b
}

// openSession sends session-open: u32 window, str edge id, str client address, str protocol,
// str agent, str referrer, str page URL, u32 + AMF0 connect object, extra args (none).
func (r *rogue) openSession(id uint32, app string) error {
	b := binary.BigEndian.AppendUint32(nil, 256<<10)
	for _, s := range []string{"rogue-edge", "10.0.0.5:4444", "rtmp", "FMLE/3.0", "http://trusted.example/app.swf", ""} {
		b = appendRStr(b, s)
	}
	obj := amf0Obj("app", app, "tcUrl", "rtmp://origin/"+app)
	b = append(binary.BigEndian.AppendUint32(b, uint32(len(obj))), obj...)
	return r.send(rkSessionOpen, id, b)
}

// sessionCommand sends a session-message: u8 RTMP type (20), u32 message stream id, u32
// timestamp, payload.
func (r *rogue) sessionCommand(id, streamID uint32, payload []byte) error {
	b := binary.BigEndian.AppendUint32([]byte{20}, streamID)
	return r.send(rkSessionMessage, id, append(binary.BigEndian.AppendUint32(b, 0), payload...))
}

// subscribe sends stream-subscribe: str "app/instance", str stream.
func (r *rogue) subscribe(ch uint32, app, stream string) error {
	return r.send(rkStreamSubscribe, ch, appendRStr(appendRStr(nil, app), stream))
}

// until reads frames until want says stop; media per channel is counted in media.
func (r *rogue) until(t *testing.T, media map[uint32]int, want func(rframe) bool) rframe {
	t.Helper()
	for {
		f, err := r.read()
		if err != nil {
			t.Fatalf("reading the trunk: %v", err)
		}
		if f.kind == rkStreamMedia {
			media[f.id]++
		}
		if want(f) {
			return f
		}
	}
}

const rogueApp = `
application.onConnect = function (client) { return true; };
application.onPublish = function (client, stream) { return true; };
application.onPlay = function (client, stream) { return stream.name !== "private"; };
`

// TestRogueTrunkPeer (issue 9 item 2, finding 2; acceptance: "a rogue trunk peer written from
// docs/trunk.md alone can neither open a session without the secret nor pull a refused stream
// with it"). Against a real origin with a secret and two streams being published:
// (a) without the secret, and with a wrong one, the hello is answered with error code 2 and the
// connection closes: a session-open sent anyway gets no verdict;
// (b) with the secret, a subscribe to a stream that no session played, and to one whose play
// the app's onPlay refused, is answered stream-status 4 (rejected) and gets no media, while the
// stream whose play the app accepted is served.
func TestRogueTrunkPeer(t *testing.T) {
	t.Parallel()
	o := startTrunkOrigin(t, testSecret, "probe")
	o.writeApp(t, "probe", rogueApp)
	for _, name := range []string{"private", "public"} {
		feedStream(t, o, "probe", name)
	}
	addr := o.srv.TrunkAddr().String()

	for _, secret := range []string{"", "not-the-secret-0123456789"} {
		r := rogueDial(t, addr)
		r.serverHello(t)
		if !r.secretNeeded {
			t.Fatal("the server hello does not ask for the secret")
		}
		f, _, err := r.hello(t, secret)
		if err != nil || f.kind != rkError || binary.BigEndian.Uint16(f.body) != rcAuth {
			t.Fatalf("hello with secret %q: %+v %v", secret, f, err)
		}
		_ = r.openSession(1, "probe")
		if f, err := r.read(); err == nil {
			t.Fatalf("secret %q: the origin answered a session-open after a failed hello: kind %#x", secret, f.kind)
		} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("secret %q: %v", secret, err)
		}
	}

	r := rogueDial(t, addr)
	r.serverHello(t)
	f, nonce, err := r.hello(t, testSecret)
	if err != nil || f.kind != rkHelloAck || len(f.body) != 34 {
		t.Fatalf("hello with the secret: %+v %v", f, err)
	}
	if !hmac.Equal(f.body[2:], r.proof(testSecret, "origin", nonce, r.originNonce, "rogue-edge")) {
		t.Fatal("the hello-ack's MAC is not the documented origin proof")
	}
	media := map[uint32]int{}
	status := func(ch uint32) uint16 {
		f := r.until(t, media, func(f rframe) bool { return f.kind == rkStreamStatus && f.id == ch })
		return binary.BigEndian.Uint16(f.body)
	}
	// Never played: refused.
	if err := r.subscribe(10, "probe/_definst_", "private"); err != nil {
		t.Fatal(err)
	}
	if c := status(10); c != rsRejected {
		t.Fatalf("subscribe with no play at all: status %d", c)
	}
	if err := r.openSession(1, "probe"); err != nil {
		t.Fatal(err)
	}
	v := r.until(t, media, func(f rframe) bool { return f.kind == rkSessionVerdict && f.id == 1 })
	if v.body[4] != 1 {
		t.Fatalf("session verdict %d", v.body[4])
	}
	playStatus := func(stream string) string {
		if err := r.sessionCommand(1, 1, amf0Command("play", 0, stream)); err != nil {
			t.Fatal(err)
		}
		for {
			// a refusal is a session-message (onStatus), an accepted play a stream-verdict
			// carrying the play-start statuses
			f := r.until(t, media, func(f rframe) bool {
				return (f.kind == rkSessionMessage || f.kind == rkStreamVerdict) && f.id == 1
			})
			for _, code := range []string{"NetStream.Play.Failed", "NetStream.Play.Start"} {
				if bytes.Contains(f.body, []byte(code)) {
					return code
				}
			}
		}
	}
	// Played and refused by onPlay: refused.
	if got := playStatus("private"); got != "NetStream.Play.Failed" {
		t.Fatalf("play private: %s", got)
	}
	if err := r.subscribe(11, "probe/_definst_", "private"); err != nil {
		t.Fatal(err)
	}
	if c := status(11); c != rsRejected {
		t.Fatalf("subscribe after onPlay refused it: status %d", c)
	}
	// Played and accepted: served. Its media arriving bounds the wait for any on 10 and 11.
	if got := playStatus("public"); got != "NetStream.Play.Start" {
		t.Fatalf("play public: %s", got)
	}
	if err := r.subscribe(12, "probe/_definst_", "public"); err != nil {
		t.Fatal(err)
	}
	if c := status(12); c != rsOK {
		t.Fatalf("subscribe after an accepted play: status %d", c)
	}
	r.until(t, media, func(rframe) bool { return media[12] >= 10 })
	if media[10]+media[11] != 0 {
		t.Fatalf("refused channels got media: %v", media)
	}
}

// feedStream publishes app/name from a direct client and keeps a keyframe going every 10 ms
// until the test ends.
func feedStream(t *testing.T, o *testOrigin, app, name string) {
	t.Helper()
	c, sid := startPublisher(t, o, app, name)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for ts := uint32(0); ; ts += 10 {
			if c.WriteMedia(sid, 9, ts, []byte{0x17, 1, 0, 0, 0, 0xAA}) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
