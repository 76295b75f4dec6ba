package origin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// hostileSO is the non-persistent object the hostile payloads are about; each case gets its own
// origin instance so that parallel cases do not see each other.
const hostileSO = "shared"

func soEvent(typ byte, length uint32, data []byte) []byte {
	b := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, length)...)
	return append(b, data...)
}

// soPayload is a type-19 message about hostileSO with the given raw events.
func soPayload(events ...[]byte) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(len(hostileSO)))
	p = append(p, hostileSO...)
	p = append(p, make([]byte, 12)...) // version, flags, reserved
	for _, e := range events {
		p = append(p, e...)
	}
	return p
}

// manyPairs is a RequestChange of n distinct slots (4-character names, null values) in one event.
func manyPairs(n int) []byte {
	data := make([]byte, 0, n*7)
	for i := range n {
		k := fmt.Sprintf("%04s", strings.ToLower(fmt.Sprintf("%x", i)))
		data = append(data, 0, 4)
		data = append(data, k[len(k)-4:]...)
		data = append(data, 0x05)
	}
	return soEvent(3, uint32(len(data)), data)
}

var useEvent = soEvent(1, 0, nil)

// TestSharedObjectHostile: each hostile message either gets a clear Status or closes only the
// sender's connection; the object keeps working for the other clients.
func TestSharedObjectHostile(t *testing.T) {
	t.Parallel()
	longKey := strings.Repeat("k", 60000)
	cases := []struct {
		name    string
		payload []byte
		status  string // "" = the connection must close
	}{
		{"event length past the end", soPayload(useEvent, soEvent(3, 0xFFFFFFF0, []byte{0, 1, 'x', 5})), ""},
		{"event length short", soPayload(useEvent, soEvent(3, 2, []byte{0, 1, 'x', 5})), ""},
		{"unknown event type", soPayload(useEvent, soEvent(0x63, 0, nil)), ""},
		{"server-only event from a client", soPayload(useEvent, soEvent(4, 4, []byte{0, 1, 'x', 5})), ""},
		{"huge slot name", soPayload(useEvent, soEvent(3, uint32(2+len(longKey)+1), append(append([]byte{0xEA, 0x60}, longKey...), 5))), ""},
		{"value truncated", soPayload(useEvent, soEvent(3, 5, []byte{0, 1, 'x', 0, 0x3f})), ""},
		{"change before use", soPayload(soEvent(3, 4, []byte{0, 1, 'x', 5})), "ignored"},
		{"half a million slots", soPayload(useEvent, manyPairs(500_000)), sharedobject.CodeLimitExceeded}, // 3.5 MB: under the 4 MiB message limit
	}
	o := startOrigin(t, "so")
	o.writeApp(t, "so", soApp)
	// The flood gets its own origin with a smaller slot limit: the full state of an object of
	// more than 4096 slots is one message our own client refuses to decode (rtmpmsg's bound).
	flood := startOrigin(t, "so")
	flood.writeApp(t, "so", soApp)
	if err := os.WriteFile(filepath.Join(flood.apps, "so", "app.json"), []byte(`{"sharedObjects": {"maxSlots": 1000}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := o
			if tc.status == sharedobject.CodeLimitExceeded {
				o = flood
			}
			ctx := ctx5(t)
			path := "so/" + strings.ReplaceAll(tc.name, " ", "-")
			good := dialSO(t, o, path, "good", false)
			good.use(ctx, hostileSO, false)
			h := dialSO(t, o, path, "hostile", false)
			h.sendRaw(tc.payload)
			switch tc.status {
			case "":
				select {
				case <-h.c.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("hostile connection still open")
				}
			case "ignored":
				if _, err := h.c.Call(ctx, "nothing"); err == nil {
					t.Fatal("call of a missing method succeeded")
				}
			default:
				h.expectStatusOrClose(t, tc.status)
			}
			h.c.Close()
			// The object still works for everyone else.
			other := dialSO(t, o, path, "other", true)
			other.use(ctx, hostileSO, false)
			key := "after"
			if o == flood {
				key = "0000" // the object is full: change a slot the flood made
			}
			good.send(hostileSO, false, change(key, "ok"))
			good.await(ctx, func(e sharedobject.Event) bool { return e.Type == sharedobject.EventSuccess && e.Key == key })
			other.await(ctx, func(e sharedobject.Event) bool {
				return e.Type == sharedobject.EventChange && e.Pairs[0].Key == key && e.Pairs[0].Value == "ok"
			})
		})
	}
}

// expectStatusOrClose waits for a Status event with code, or for the connection to end (a
// client that floods refusals may be closed as a slow consumer).
func (p *soPeer) expectStatusOrClose(t *testing.T, code string) {
	t.Helper()
	ctx := ctx5(t)
	for {
		m, ok := p.tryNext(ctx)
		if !ok {
			return
		}
		for _, e := range m.events {
			if e.Type == sharedobject.EventStatus {
				if e.Code != code {
					t.Fatalf("status %q, want %q", e.Code, code)
				}
				return
			}
		}
	}
}

// tryNext is next, but a closed connection is reported instead of failing.
func (p *soPeer) tryNext(ctx context.Context) (soMsg, bool) {
	m, err := p.nextErr(ctx)
	if errors.Is(err, rtmpclient.ErrClosed) {
		return soMsg{}, false
	}
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return m, true
}

// await reads shared-object messages until one has an event that matches.
func (p *soPeer) await(ctx context.Context, match func(sharedobject.Event) bool) {
	p.t.Helper()
	for {
		for _, e := range p.next(ctx).events {
			if match(e) {
				return
			}
		}
	}
}

// TestSharedObjectChangeFlood: 20000 changes as fast as a client can write them, each firing
// onSync. The callbacks go through one bounded queue (excess dropped, never piled up as jobs or
// goroutines); the instance keeps answering and the last value wins.
func TestSharedObjectChangeFlood(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "so")
	o.writeApp(t, "so", `
var so = SharedObject.get("flood"), syncs = 0;
so.onSync = function (list) { syncs += list.length; };
Client.prototype.stats = function () { return [syncs, so.getProperty("n")]; };
`)
	ctx := ctx5(t)
	p := dialSO(t, o, "so", "flooder", false)
	p.use(ctx, "flood", false)
	const n = 20000
	var buf []byte
	for i := range n {
		var enc amf.Encoder
		ev, err := sharedobject.EncodeEvent(&enc, &sharedobject.Event{Type: sharedobject.EventRequestChange,
			Pairs: []sharedobject.Pair{{Key: "n", Value: float64(i)}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		buf = rtmpmsg.AppendSharedObject(buf[:0], &rtmpmsg.SharedObjectMessage{Name: "flood", Events: []rtmpmsg.SharedObjectEvent{ev}}, false)
		p.sendRaw(buf)
	}
	go func() { // drain the Successes so the connection is not closed as a slow consumer
		for {
			if _, err := p.c.NextEvent(ctx); err != nil {
				return
			}
		}
	}()
	waitFor(t, 10*time.Second, "the last change", func() bool {
		v, err := p.c.Call(ctx, "stats")
		arr, _ := v.(*amf.Array)
		return err == nil && arr != nil && arr.Dense[1] == float64(n-1) && arr.Dense[0].(float64) > 0
	})
}
