package origin

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// soPeer is a real RTMP client using shared objects the way Flash does: it writes type 19 (AMF0)
// or type 16 (AMF3 client) messages and reads what the server sends back.
type soPeer struct {
	t    testing.TB
	name string
	c    *rtmpclient.Client
	amf3 bool
	enc  amf.Encoder
}

// soMsg is one received shared-object message, decoded.
type soMsg struct {
	typeID  uint8
	name    string
	version uint32
	flags   uint32
	events  []sharedobject.Event
}

func dialSO(t testing.TB, o *testOrigin, path, name string, amf3 bool) *soPeer {
	t.Helper()
	opt := rtmpclient.Options{}
	if amf3 {
		opt.ObjectEncoding = 3
	}
	return &soPeer{t: t, name: name, c: dial(t, o.url(path), opt), amf3: amf3}
}

// send writes one message about the object name with the given events.
func (p *soPeer) send(name string, persistent bool, evs ...sharedobject.Event) {
	p.t.Helper()
	m := rtmpmsg.SharedObjectMessage{Name: name}
	if persistent {
		m.Flags = 2
	}
	for i := range evs {
		raw, err := sharedobject.EncodeEvent(&p.enc, &evs[i], p.amf3)
		if err != nil {
			p.t.Fatal(err)
		}
		m.Events = append(m.Events, raw)
	}
	p.sendRaw(rtmpmsg.AppendSharedObject(nil, &m, p.amf3))
}

// sendRaw writes a shared-object payload as it is, with the peer's message type.
func (p *soPeer) sendRaw(payload []byte) {
	p.t.Helper()
	if err := p.c.WriteMessage(chunk.Header{CSID: 3, TypeID: p.typeID()}, payload); err != nil {
		p.t.Fatal(err)
	}
}

func (p *soPeer) typeID() uint8 {
	if p.amf3 {
		return rtmpmsg.TypeSharedObjectAMF3
	}
	return rtmpmsg.TypeSharedObjectAMF0
}

// next returns the next shared-object message, skipping everything else the server sends.
func (p *soPeer) next(ctx context.Context) soMsg {
	p.t.Helper()
	m, err := p.nextErr(ctx)
	if err != nil {
		p.t.Fatalf("%s: waiting for a shared object message: %v", p.name, err)
	}
	return m
}

func (p *soPeer) nextErr(ctx context.Context) (soMsg, error) {
	for {
		ev, err := p.c.NextEvent(ctx)
		if err != nil {
			return soMsg{}, err
		}
		if ev.Kind != rtmpclient.EventSharedObject {
			continue
		}
		if ev.TypeID != p.typeID() {
			return soMsg{}, fmt.Errorf("shared object message of type %d, want %d", ev.TypeID, p.typeID())
		}
		m, err := rtmpmsg.DecodeSharedObject(ev.TypeID, ev.Payload)
		if err != nil {
			return soMsg{}, err
		}
		evs, err := sharedobject.DecodeEvents(&m)
		if err != nil {
			return soMsg{}, err
		}
		return soMsg{typeID: ev.TypeID, name: m.Name, version: m.Version, flags: m.Flags, events: evs}, nil
	}
}

// use subscribes and returns the UseSuccess reply (UseSuccess, [Clear], Change...).
func (p *soPeer) use(ctx context.Context, name string, persistent bool) soMsg {
	p.t.Helper()
	p.send(name, persistent, sharedobject.Event{Type: sharedobject.EventUse})
	m := p.next(ctx)
	if len(m.events) == 0 || m.events[0].Type != sharedobject.EventUseSuccess {
		p.t.Fatalf("%s: use %q answered with %s", p.name, name, m)
	}
	return m
}

func (m soMsg) String() string {
	s := fmt.Sprintf("%q v%d flags %d [", m.name, m.version, m.flags)
	for i, e := range m.events {
		if i > 0 {
			s += " "
		}
		s += e.Type.String()
		switch {
		case len(e.Pairs) > 0:
			s += fmt.Sprintf("%v", e.Pairs)
		case e.Key != "":
			s += "(" + e.Key + ")"
		case e.Method != "":
			s += fmt.Sprintf("(%s %v)", e.Method, e.Args)
		case e.Code != "":
			s += "(" + e.Code + ")"
		}
	}
	return s + "]"
}

// slots collects the Change pairs of a message (a state snapshot after Use).
func (m soMsg) slots() map[string]any {
	out := map[string]any{}
	for _, e := range m.events {
		if e.Type == sharedobject.EventChange {
			for _, p := range e.Pairs {
				out[p.Key] = p.Value
			}
		}
	}
	return out
}

func change(pairs ...any) sharedobject.Event {
	ev := sharedobject.Event{Type: sharedobject.EventRequestChange}
	for i := 0; i+1 < len(pairs); i += 2 {
		ev.Pairs = append(ev.Pairs, sharedobject.Pair{Key: pairs[i].(string), Value: pairs[i+1]})
	}
	return ev
}

func expectEvents(t testing.TB, who string, m soMsg, want ...sharedobject.Event) {
	t.Helper()
	if !reflect.DeepEqual(m.events, want) {
		t.Fatalf("%s got %s, want events %+v", who, m, want)
	}
}

const soApp = `
application.onConnect = function (c) { return true; };
`

// TestSharedObjectTwoClients: two clients (AMF0 and AMF3) on one object — a change reaches the
// other once with the new version, the changer gets Success, remove and send reach both.
func TestSharedObjectTwoClients(t *testing.T) {
	t.Parallel()
	for _, enc := range []struct {
		name       string
		aAMF, bAMF bool
	}{{"amf0", false, false}, {"amf3", true, true}, {"mixed", false, true}} {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "so")
			o.writeApp(t, "so", soApp)
			ctx := ctx5(t)
			a, b := dialSO(t, o, "so", "a", enc.aAMF), dialSO(t, o, "so", "b", enc.bAMF)
			ua := a.use(ctx, "board", false)
			expectEvents(t, "a use", ua, sharedobject.Event{Type: sharedobject.EventUseSuccess}, sharedobject.Event{Type: sharedobject.EventClear})
			b.use(ctx, "board", false)

			a.send("board", false, change("x", 1.0))
			ma := a.next(ctx)
			expectEvents(t, "a", ma, sharedobject.Event{Type: sharedobject.EventSuccess, Key: "x"})
			mb := b.next(ctx)
			expectEvents(t, "b", mb, sharedobject.Event{Type: sharedobject.EventChange, Pairs: []sharedobject.Pair{{Key: "x", Value: 1.0}}})
			if ma.version != 1 || mb.version != 1 {
				t.Fatalf("versions %d %d, want 1", ma.version, mb.version)
			}

			b.send("board", false, sharedobject.Event{Type: sharedobject.EventRequestRemove, Key: "x"})
			for _, p := range []*soPeer{a, b} {
				m := p.next(ctx)
				expectEvents(t, p.name+" remove", m, sharedobject.Event{Type: sharedobject.EventRemove, Key: "x"})
				if m.version != 2 {
					t.Fatalf("%s: version %d after remove, want 2", p.name, m.version)
				}
			}

			b.send("board", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "draw", Args: []any{"line", 3.0}})
			for _, p := range []*soPeer{a, b} {
				expectEvents(t, p.name+" send", p.next(ctx), sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "draw", Args: []any{"line", 3.0}})
			}
		})
	}
}

// TestSharedObjectManyClients: 50 clients, half AMF0 and half AMF3, each change one slot at
// once. Every client sees every other change exactly once, its own as one Success, all in one
// order of strictly rising versions; a send reaches all 50 once; a late joiner gets the full
// state at the final version; a clear reaches everyone.
func TestSharedObjectManyClients(t *testing.T) {
	t.Parallel()
	const n = 50
	o := startOrigin(t, "so")
	o.writeApp(t, "so", soApp)
	ctx := ctx5(t)
	peers := make([]*soPeer, n)
	for i := range peers {
		peers[i] = dialSO(t, o, "so", fmt.Sprint("c", i), i%2 == 1)
		peers[i].use(ctx, "crowd", false)
	}
	for i, p := range peers {
		p.send("crowd", false, change(fmt.Sprint("k", i), float64(i)))
	}
	for i, p := range peers {
		seen := map[string]bool{}
		last := uint32(0)
		for range n {
			m := p.next(ctx)
			if m.version <= last {
				t.Fatalf("%s: version %d after %d", p.name, m.version, last)
			}
			last = m.version
			if len(m.events) != 1 {
				t.Fatalf("%s: %s, want one event", p.name, m)
			}
			e := m.events[0]
			key := e.Key
			switch e.Type {
			case sharedobject.EventSuccess:
				if key != fmt.Sprint("k", i) {
					t.Fatalf("%s: Success for %q", p.name, key)
				}
			case sharedobject.EventChange:
				key = e.Pairs[0].Key
				if key == fmt.Sprint("k", i) || fmt.Sprint("k", e.Pairs[0].Value) != key {
					t.Fatalf("%s: unexpected %s", p.name, m)
				}
			default:
				t.Fatalf("%s: unexpected %s", p.name, m)
			}
			if seen[key] {
				t.Fatalf("%s: %q twice", p.name, key)
			}
			seen[key] = true
		}
		if last != n {
			t.Fatalf("%s: final version %d, want %d", p.name, last, n)
		}
	}
	peers[7].send("crowd", false, sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello", Args: []any{"all"}})
	for _, p := range peers {
		expectEvents(t, p.name, p.next(ctx), sharedobject.Event{Type: sharedobject.EventSendMessage, Method: "hello", Args: []any{"all"}})
	}
	late := dialSO(t, o, "so", "late", true)
	m := late.use(ctx, "crowd", false)
	if m.version != n || len(m.slots()) != n {
		t.Fatalf("late joiner: version %d with %d slots, want %d and %d: %s", m.version, len(m.slots()), n, n, m)
	}
	for i := range n {
		if m.slots()[fmt.Sprint("k", i)] != float64(i) {
			t.Fatalf("late joiner: slot k%d = %v", i, m.slots()[fmt.Sprint("k", i)])
		}
	}
	// Removing every slot: each client gets each Remove once, the requester included.
	peers[0].send("crowd", false, sharedobject.Event{Type: sharedobject.EventRequestRemove, Key: "k3"})
	for _, p := range append(peers, late) {
		expectEvents(t, p.name, p.next(ctx), sharedobject.Event{Type: sharedobject.EventRemove, Key: "k3"})
	}
}

// Raw fixtures written from PROTOCOL.md's byte layout, not produced by our encoder: a Use of the
// non-persistent object "fx", its answer, a RequestChange x=1.0 (AMF0) or x="hi" (AMF3) and the
// answers to the requester and to another subscriber.
var soRawFixtures = []struct {
	name                    string
	amf3                    bool
	use, useReply           string
	change, success, others string
}{
	{
		name: "amf0 type 19", amf3: false,
		use:      "0002 6678 00000000 00000000 00000000 01 00000000",
		useReply: "0002 6678 00000000 00000000 00000000 0b 00000000 08 00000000",
		change:   "0002 6678 00000000 00000000 00000000 03 0000000c 0001 78 00 3ff0000000000000",
		success:  "0002 6678 00000001 00000000 00000000 05 00000003 0001 78",
		others:   "0002 6678 00000001 00000000 00000000 04 0000000c 0001 78 00 3ff0000000000000",
	},
	{
		name: "amf3 type 16", amf3: true,
		use:      "00 0002 6678 00000000 00000000 00000000 01 00000000",
		useReply: "00 0002 6678 00000000 00000000 00000000 0b 00000000 08 00000000",
		change:   "00 0002 6678 00000000 00000000 00000000 03 00000008 0001 78 11 06 05 6869",
		success:  "00 0002 6678 00000001 00000000 00000000 05 00000003 0001 78",
		others:   "00 0002 6678 00000001 00000000 00000000 04 00000008 0001 78 11 06 05 6869",
	},
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nextRaw returns the payload of the next shared-object message.
func (p *soPeer) nextRaw(ctx context.Context) []byte {
	p.t.Helper()
	for {
		ev, err := p.c.NextEvent(ctx)
		if err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
		if ev.Kind == rtmpclient.EventSharedObject {
			if ev.TypeID != p.typeID() {
				p.t.Fatalf("%s: type %d, want %d", p.name, ev.TypeID, p.typeID())
			}
			return ev.Payload
		}
	}
}

func TestSharedObjectRawFixtures(t *testing.T) {
	t.Parallel()
	for _, fx := range soRawFixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, "so")
			o.writeApp(t, "so", soApp)
			ctx := ctx5(t)
			a, b := dialSO(t, o, "so", "a", fx.amf3), dialSO(t, o, "so", "b", fx.amf3)
			for _, p := range []*soPeer{a, b} {
				p.sendRaw(hexBytes(t, fx.use))
				if got, want := p.nextRaw(ctx), hexBytes(t, fx.useReply); !bytes.Equal(got, want) {
					t.Fatalf("%s use reply\n got % x\nwant % x", p.name, got, want)
				}
			}
			a.sendRaw(hexBytes(t, fx.change))
			if got, want := a.nextRaw(ctx), hexBytes(t, fx.success); !bytes.Equal(got, want) {
				t.Fatalf("success\n got % x\nwant % x", got, want)
			}
			if got, want := b.nextRaw(ctx), hexBytes(t, fx.others); !bytes.Equal(got, want) {
				t.Fatalf("change\n got % x\nwant % x", got, want)
			}
		})
	}
}
