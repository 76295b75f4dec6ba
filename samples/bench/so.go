package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// soBench measures one shared-object change fanned out to many subscribers (delivery latency
// p50/p99, from the changer's send to each subscriber's receipt) and the changes per second one
// object sustains with many writers.
func soBench(dir string, subscribers, writers int) error {
	appDir := filepath.Join(dir, "apps", "so")
	os.MkdirAll(appDir, 0o755)
	if err := os.WriteFile(filepath.Join(appDir, "main.js"), []byte("application.onConnect = function () { return true; };\n"), 0o644); err != nil {
		return err
	}
	srv, addr, err := startOrigin(dir)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return err
	}
	url := "rtmp://" + addr + "/so"
	if err := soFanout(url, subscribers); err != nil {
		return err
	}
	return soWriters(url, writers, 5*time.Second)
}

func soSend(c *rtmpclient.Client, evs ...sharedobject.Event) error {
	var e amf.Encoder
	m := rtmpmsg.SharedObjectMessage{Name: "bench"}
	for i := range evs {
		raw, err := sharedobject.EncodeEvent(&e, &evs[i], false)
		if err != nil {
			return err
		}
		m.Events = append(m.Events, raw)
	}
	return c.WriteMessage(chunk.Header{CSID: 3, TypeID: rtmpmsg.TypeSharedObjectAMF0}, rtmpmsg.AppendSharedObject(nil, &m, false))
}

// soEvents returns the decoded events of the next shared-object message.
func soEvents(ctx context.Context, c *rtmpclient.Client) ([]sharedobject.Event, error) {
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return nil, err
		}
		if ev.Kind != rtmpclient.EventSharedObject {
			continue
		}
		m, err := rtmpmsg.DecodeSharedObject(ev.TypeID, ev.Payload)
		if err != nil {
			return nil, err
		}
		return sharedobject.DecodeEvents(&m)
	}
}

func soUse(ctx context.Context, url string) (*rtmpclient.Client, error) {
	c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		return nil, err
	}
	if err := soSend(c, sharedobject.Event{Type: sharedobject.EventUse}); err != nil {
		return nil, err
	}
	if _, err := soEvents(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

func soFanout(url string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	subs := make([]*rtmpclient.Client, n)
	for i := range subs {
		c, err := soUse(ctx, url)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		defer c.Close()
		subs[i] = c
	}
	changer, err := soUse(ctx, url)
	if err != nil {
		return err
	}
	defer changer.Close()
	const rounds = 20
	var lat latencies
	for r := 0; r < rounds; r++ {
		got, err := soRound(ctx, changer, subs, float64(r))
		if err != nil {
			return err
		}
		lat.add(got)
	}
	p50, p99 := lat.percentiles()
	fmt.Printf("so fan-out  1 change to %d subscribers (%d rounds): delivery p50 %.2f ms, p99 %.2f ms (subscribers in the bench process)\n",
		n, rounds, ms(p50), ms(p99))
	return nil
}

// soRound sends one change and returns each subscriber's delivery time. The subscribers are
// waiting before the change leaves and take the time as soon as a message arrives (decoding
// after), so that the figure is the server's fan-out, not the load generator's goroutines
// starting up on the same two cores.
func soRound(ctx context.Context, changer *rtmpclient.Client, subs []*rtmpclient.Client, v float64) ([]time.Duration, error) {
	var sent atomic.Int64
	got := make([]time.Duration, len(subs))
	var ready, done sync.WaitGroup
	for i, c := range subs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			for {
				ev, err := c.NextEvent(ctx)
				if err != nil {
					return
				}
				at := time.Now()
				if ev.Kind == rtmpclient.EventSharedObject {
					got[i] = at.Sub(time.Unix(0, sent.Load()))
					return
				}
			}
		}()
	}
	ready.Wait()
	sent.Store(time.Now().UnixNano())
	change := sharedobject.Event{Type: sharedobject.EventRequestChange, Key: "t", Pairs: []sharedobject.Pair{{Key: "t", Value: v}}}
	if err := soSend(changer, change); err != nil {
		return nil, err
	}
	done.Wait()
	if _, err := soEvents(ctx, changer); err != nil { // its Success
		return nil, err
	}
	return got, nil
}

func soWriters(url string, n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var changes atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < n; w++ {
		c, err := soUse(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close()
		wg.Add(1)
		go func(w int, c *rtmpclient.Client) {
			defer wg.Done()
			key := fmt.Sprintf("w%d", w)
			for i := 0; time.Now().Before(deadline); i++ {
				if soSend(c, sharedobject.Event{Type: sharedobject.EventRequestChange, Key: key, Pairs: []sharedobject.Pair{{Key: key, Value: float64(i)}}}) != nil {
					return
				}
				for { // wait for our own Success; others' Changes arrive meanwhile
					evs, err := soEvents(ctx, c)
					if err != nil {
						return
					}
					if len(evs) > 0 && evs[0].Type == sharedobject.EventSuccess {
						break
					}
				}
				changes.Add(1)
			}
		}(w, c)
	}
	wg.Wait()
	fmt.Printf("so writers  %d writers on one object: %.0f acknowledged changes/s (each fanned out to all %d)\n",
		n, float64(changes.Load())/time.Since(start).Seconds(), n)
	return nil
}
