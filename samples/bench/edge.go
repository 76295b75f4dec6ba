package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cluster is an origin and an edge as separate processes, so that each one's CPU and memory is
// read from /proc on its own; the edge's one trunk goes to the origin.
type cluster struct {
	origin, edge         *exec.Cmd
	originAddr, edgeAddr string // RTMP addresses: direct clients, and clients through the edge
}

// buildEdge adds bin/edge to the bench's folder (the fan-out bench builds origin and loadtest).
func buildEdge(dir string) error {
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "edge"), "./edge/cmd/edge").CombinedOutput(); err != nil {
		return fmt.Errorf("build edge: %v\n%s", err, out)
	}
	return nil
}

// startCluster starts the origin with a trunk listener, then the edge pointed at it, and waits
// until both accept. originArgs are extra origin flags (a heap profile).
func startCluster(dir string, originArgs ...string) (*cluster, error) {
	c, trunkAddr, err := startTrunkOrigin(dir, originArgs...)
	if err != nil {
		return nil, err
	}
	c.edgeAddr = freePort()
	c.edge = exec.Command(filepath.Join(dir, "edge"), append([]string{"-rtmp", c.edgeAddr, "-origins", trunkAddr,
		"-http", "", "-id", "bench-edge", "-log-level", "warn"}, unlimited()...)...)
	c.edge.Stderr = os.Stderr
	if err := c.edge.Start(); err != nil {
		c.edge = nil
		c.stop()
		return nil, err
	}
	if err := waitListening(c.edgeAddr); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// startTrunkOrigin starts the origin with a trunk listener for an edge, and returns the cluster
// (no edge yet) and the trunk address.
func startTrunkOrigin(dir string, originArgs ...string) (*cluster, string, error) {
	c := &cluster{originAddr: freePort()}
	trunkAddr := freePort()
	args := append([]string{"-rtmp", c.originAddr, "-trunk", trunkAddr, "-http", "",
		"-apps", filepath.Join(dir, "apps"), "-data", filepath.Join(dir, "data"), "-log-level", "warn"}, append(unlimited(), originArgs...)...)
	c.origin = exec.Command(filepath.Join(dir, "origin"), args...)
	c.origin.Stderr = os.Stderr
	if err := c.origin.Start(); err != nil {
		return nil, "", err
	}
	if err := waitListening(c.originAddr); err != nil { // Start binds both listeners; a probe of the trunk would log a failed handshake
		c.stop()
		return nil, "", err
	}
	return c, trunkAddr, nil
}

// stop interrupts the edge, then the origin (SIGINT: the origin writes its heap profile), and
// waits for both.
func (c *cluster) stop() {
	for _, p := range []*exec.Cmd{c.edge, c.origin} {
		if p != nil && p.Process != nil {
			p.Process.Signal(os.Interrupt)
			p.Wait()
		}
	}
}

// edgeResult is one fan-out run through the edge.
type edgeResult struct {
	players                  int
	edgeCPU, originCPU       float64 // % of a core
	edgeSysShare             float64 // % of the edge's CPU that was the kernel's
	edgeRSSMiB, kibPerPlayer float64
	s                        summary
}

// edgeFanout runs the fan-out bench through an edge for each player count: the publisher and
// the players all connect to the edge, which relays the publish to the origin over the trunk and
// pulls the stream back once for its players. direct holds the same run's origin-only results.
func edgeFanout(dir string, counts []int, dur, ramp time.Duration, bitrate string, direct []result) error {
	fmt.Printf("edge fan-out: publisher and players on the edge (separate processes: origin, edge, load generator)\n")
	for _, n := range counts {
		r, err := measureEdge(dir, n, dur, ramp, bitrate)
		if err != nil {
			return err
		}
		printEdge(r, direct)
	}
	return nil
}

func measureEdge(dir string, n int, dur, ramp time.Duration, bitrate string) (edgeResult, error) {
	c, err := startCluster(dir)
	if err != nil {
		return edgeResult{}, err
	}
	defer c.stop()
	ePid, oPid := c.edge.Process.Pid, c.origin.Process.Pid
	baseRSS := rssKiB(ePid)
	lt := exec.Command(filepath.Join(dir, "loadtest"), "-url", "rtmp://"+c.edgeAddr+"/live", "-stream", "edgebench",
		"-players", strconv.Itoa(n), "-publishers", "1", "-bitrate", bitrate,
		"-ramp", ramp.String(), "-duration", dur.String(), "-json")
	var out bytes.Buffer
	lt.Stdout, lt.Stderr = &out, os.Stderr
	if err := lt.Start(); err != nil {
		return edgeResult{}, err
	}
	time.Sleep(ramp + 2*time.Second)
	e0, o0, t0 := cpuTimes(ePid), cpuSeconds(oPid), time.Now()
	time.Sleep(dur - ramp - 4*time.Second)
	e, o1, el := cpuTimes(ePid).sub(e0), cpuSeconds(oPid), time.Since(t0).Seconds()
	rss := rssKiB(ePid)
	if err := lt.Wait(); err != nil {
		return edgeResult{}, fmt.Errorf("loadtest: %v", err)
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return edgeResult{}, fmt.Errorf("loadtest output: %v: %q", err, out.String())
	}
	r := edgeResult{players: n, s: s, edgeCPU: 100 * e.total() / el, edgeSysShare: e.sysShare(), originCPU: 100 * (o1 - o0) / el, edgeRSSMiB: rss / 1024}
	if s.PlayersConnected > 0 {
		r.kibPerPlayer = (rss - baseRSS) / float64(s.PlayersConnected)
	}
	return r, nil
}

func printEdge(r edgeResult, direct []result) {
	perCPU := float64(r.s.PlayersConnected) / max(r.edgeCPU/100, 1e-9)
	fmt.Printf("edge        players=%-5d connected=%-5d keyframe=%-5d disconnects=%-3d edge cpu=%5.1f%% (sys %.0f%% of it) origin cpu=%5.1f%% edge rss=%6.1f MiB (%.1f KiB/player) startup p50=%.1f ms p99=%.1f ms  %.0f Mb/s delivered\n",
		r.players, r.s.PlayersConnected, r.s.PlayersWithKeyframe, r.s.Disconnects, r.edgeCPU, r.edgeSysShare, r.originCPU,
		r.edgeRSSMiB, r.kibPerPlayer, r.s.FirstKeyframeP50Ms, r.s.FirstKeyframeP99Ms, r.s.MbitPerSec)
	line := fmt.Sprintf("players per edge CPU-second at %d players: %.0f", r.players, perCPU)
	for _, server := range []string{"fmsgo", "nginx-rtmp"} {
		for _, d := range direct {
			if d.server == server && d.players == r.players && d.cpuPct > 0 {
				pd := float64(d.s.PlayersConnected) / (d.cpuPct / 100)
				if server == "fmsgo" {
					line += fmt.Sprintf(", direct origin %.0f (edge/direct %.2f)", pd, perCPU/pd)
				} else {
					line += fmt.Sprintf(", nginx-rtmp %.0f (edge/nginx-rtmp %.2f, goal >= 2)", pd, perCPU/pd)
				}
			}
		}
	}
	fmt.Println(line)
}

// edgeOptions are the flags of the edge sections.
type edgeOptions struct {
	run         bool
	players     string // fan-out player counts; "" = the fan-out bench's
	rpcClients  int    // -1 = the RPC bench's
	idleClients int
	idleProcs   int
	heapDir     string
	pubPlayers  int // origin players of the publish-through-the-edge comparison (0: skip)
}

// edgeFlags registers the edge sections' flags on fs.
func edgeFlags(fs *flag.FlagSet) *edgeOptions {
	o := &edgeOptions{}
	fs.BoolVar(&o.run, "edge", true, "run the edge sections (fan-out, RPC and idle clients through bin/edge)")
	fs.StringVar(&o.players, "edge-players", "", "player counts of the edge fan-out (default: -players)")
	fs.IntVar(&o.rpcClients, "edge-rpc-clients", -1, "clients of the RPC run through the edge (default: -rpc-clients; 0: skip)")
	fs.IntVar(&o.idleClients, "idle-clients", 19000, "idle clients held on the edge for its memory per client (0: skip)")
	fs.IntVar(&o.idleProcs, "idle-procs", 4, "load processes holding the idle clients, each from its own 127.0.0.x")
	fs.StringVar(&o.heapDir, "heap-profiles", "", "write the origin's heap profile here while the idle clients are connected")
	fs.IntVar(&o.pubPlayers, "edge-publish-players", 1000, "origin players of the publish through the edge vs direct comparison (0: skip)")
	return o
}

// runEdge runs the edge sections; direct is the fan-out bench's results of the same run.
func runEdge(dir string, o *edgeOptions, direct []result, counts string, dur, ramp time.Duration, bitrate string, ro *rpcOptions) error {
	if !o.run {
		return nil
	}
	if err := buildEdge(dir); err != nil {
		return err
	}
	if o.players != "" {
		counts = o.players
	}
	var ns []int
	for _, f := range strings.Split(counts, ",") {
		if n, _ := strconv.Atoi(strings.TrimSpace(f)); n > 0 {
			ns = append(ns, n)
		}
	}
	if err := edgeFanout(dir, ns, dur, ramp, bitrate, direct); err != nil {
		return err
	}
	if o.pubPlayers > 0 {
		if err := edgePublish(dir, o.pubPlayers, dur, ramp, bitrate); err != nil {
			return err
		}
	}
	rpcClients := ro.clients
	if o.rpcClients >= 0 {
		rpcClients = o.rpcClients
	}
	if rpcClients > 0 {
		if err := edgeRPC(dir, rpcClients, ro.d, ro.full); err != nil {
			return err
		}
	}
	if o.idleClients > 0 {
		return edgeIdle(dir, o.idleClients, max(o.idleProcs, 1), o.heapDir)
	}
	return nil
}
