package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// IdleReport is what the idle mode prints as one JSON line: first when every connection has been
// attempted (Ready: the server now holds Connected idle clients, the moment to measure it), and
// again at the end with the disconnects seen while idling.
type IdleReport struct {
	Ready       bool     `json:"ready"`
	Attempted   int      `json:"attempted"`
	Connected   int      `json:"connected"`
	Failed      int      `json:"failed"`
	Disconnects int      `json:"disconnects"`
	SetupP50Ms  float64  `json:"setup_p50_ms"`
	SetupP99Ms  float64  `json:"setup_p99_ms"`
	Errors      []string `json:"errors,omitempty"` // a few distinct setup errors
}

// idleDialers is how many connections are set up at once: enough to reach 19,000 in seconds,
// few enough that the server's accept backlog never overflows.
const idleDialers = 64

// RunIdle opens n connections that connect to cfg.URL and then stay idle, answering only pings
// and acknowledgement windows, until ctx ends or cfg.Duration passes. It writes a ready report
// to out when all are attempted, and a final one when they close. It measures what an idle
// client costs the server (memory), so each connection costs this process little: a small read
// buffer and one goroutine.
func RunIdle(ctx context.Context, cfg Config, n int, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	target, _ := rtmpclient.ParseURL(cfg.URL)
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	ip := &idlePool{cfg: &cfg, target: target}
	ip.start(ctx, n)
	rep := ip.report(true)
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return err
	}
	<-ctx.Done()
	ip.held.Wait()
	return json.NewEncoder(out).Encode(ip.report(false))
}

// idlePool owns the idle connections' counters; the connections' goroutines update them.
type idlePool struct {
	cfg         *Config
	target      rtmpclient.Target
	held        sync.WaitGroup // connections still open
	connected   atomic.Int64
	failed      atomic.Int64
	disconnects atomic.Int64
	mu          sync.Mutex
	setup       []time.Duration
	errs        map[string]bool
}

// start sets up n connections with idleDialers at a time and returns when all were attempted.
func (ip *idlePool) start(ctx context.Context, n int) {
	next := make(chan int)
	var setupDone sync.WaitGroup
	for range min(idleDialers, max(n, 1)) {
		setupDone.Go(func() {
			for i := range next {
				ip.open(ctx, i)
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	setupDone.Wait()
}

// open sets up connection i; once connected it idles on its own goroutine.
func (ip *idlePool) open(ctx context.Context, i int) {
	start := time.Now()
	c, err := ip.dialConnect(ctx, i)
	if err != nil {
		ip.failed.Add(1)
		ip.noteErr(err)
		return
	}
	ip.mu.Lock()
	ip.setup = append(ip.setup, time.Since(start))
	ip.mu.Unlock()
	ip.connected.Add(1)
	ip.held.Go(func() {
		stop := context.AfterFunc(ctx, func() { c.nc.Close() })
		defer stop()
		defer c.nc.Close()
		if err := c.idle(); ctx.Err() == nil {
			ip.disconnects.Add(1)
			ip.noteErr(err)
		}
	})
}

func (ip *idlePool) noteErr(err error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.errs == nil {
		ip.errs = map[string]bool{}
	}
	if len(ip.errs) < 8 {
		ip.errs[errorKey(err)] = true
	}
}

func (ip *idlePool) report(ready bool) IdleReport {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	r := IdleReport{Ready: ready, Connected: int(ip.connected.Load()), Failed: int(ip.failed.Load()),
		Disconnects: int(ip.disconnects.Load())}
	r.Attempted = r.Connected + r.Failed
	sorted := append([]time.Duration(nil), ip.setup...)
	slices.Sort(sorted)
	r.SetupP50Ms, r.SetupP99Ms = ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.99))
	for e := range ip.errs {
		r.Errors = append(r.Errors, e)
	}
	return r
}

// dialConnect dials from connection i's source address, shakes hands and connects; it returns
// once the server accepted (the app's onConnect said yes).
func (ip *idlePool) dialConnect(ctx context.Context, i int) (*player, error) {
	local, err := ip.cfg.localAddr(i)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{LocalAddr: local, Timeout: ip.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", ip.target.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	p := &player{nc: nc, w: chunk.NewWriter()}
	if err := p.connectOnly(ip.cfg, ip.target); err != nil {
		nc.Close()
		return nil, err
	}
	return p, nil
}

// connectOnly is the idle client's setup: handshake and connect, nothing else.
func (p *player) connectOnly(cfg *Config, t rtmpclient.Target) error {
	br := bufio.NewReaderSize(p.nc, cfg.ReadBuffer)
	_ = p.nc.SetDeadline(time.Now().Add(cfg.Timeout))
	if err := rtmpconn.ClientHandshake(struct {
		io.Reader
		io.Writer
	}{br, p.nc}); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	p.r = newRawReader(br)
	obj := &amf.Object{Props: []amf.Prop{{Key: "app", Value: t.App}, {Key: "flashVer", Value: "LNX 9,0,124,2"},
		{Key: "tcUrl", Value: t.TcURL}, {Key: "fpad", Value: false}, {Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 4071.0}, {Key: "videoCodecs", Value: 252.0}, {Key: "videoFunction", Value: 1.0},
		{Key: "objectEncoding", Value: 0.0}}}
	if err := p.command(0, "connect", 1, obj); err != nil {
		return err
	}
	for !p.res.connected {
		if err := p.idleStep(); err != nil {
			return err
		}
	}
	return p.nc.SetDeadline(time.Time{})
}

// idle reads until the connection ends, answering pings and acknowledgement windows.
func (p *player) idle() error {
	for {
		if err := p.idleStep(); err != nil {
			return err
		}
	}
}

// idleStep reads and handles one message of an idle client.
func (p *player) idleStep() error {
	m, err := p.r.next()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := p.handleIdle(m); err != nil {
		return err
	}
	return p.account()
}

// handleIdle answers what the server may ask of an idle client; media and other messages are
// ignored (an idle client plays nothing, so none should come).
func (p *player) handleIdle(m rawMsg) error {
	switch m.typeID {
	case rtmpmsg.TypeSetChunkSize:
		n, err := rtmpmsg.ParseSetChunkSize(m.payload)
		if err == nil {
			err = p.r.setChunkSize(n)
		}
		return err
	case rtmpmsg.TypeWindowAckSize:
		n, err := rtmpmsg.ParseWindowAckSize(m.payload)
		p.windowAck = uint64(n)
		return err
	case rtmpmsg.TypeUserControl:
		return p.userControl(m.payload)
	case rtmpmsg.TypeCommandAMF0, rtmpmsg.TypeCommandAMF3:
		cmd, err := rtmpmsg.DecodeCommand(m.typeID, m.payload, &p.dec)
		if err != nil {
			return fmt.Errorf("command: %w", err)
		}
		if cmd.Name == "_error" {
			return errors.New(statusCode(cmd.Args))
		}
		if cmd.Name == "_result" && cmd.TxnID == 1 {
			p.res.connected = true
		}
	}
	return nil
}
