package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// publishResult is one run of the publish-path bench: a stream published directly to the origin
// or through the edge, played by players on the origin.
type publishResult struct {
	viaEdge   bool
	originCPU float64 // % of a core
	s         summary
}

// edgePublish compares a publish through the edge with a direct one, each played by n players
// connected to the origin: the origin relays the edge's publish to its players, and what that
// costs it over a direct publish is the ratio of the origin's CPU (issue 10's goal: at most
// 1.2). Both runs use the same cluster (origin with its trunk to an edge), so only the
// publisher's path differs.
func edgePublish(dir string, n int, dur, ramp time.Duration, bitrate string) error {
	fmt.Printf("publish through the edge: 1 publisher (on the edge, or on the origin directly) at %s, %d players on the origin\n", bitrate, n)
	var runs [2]publishResult
	for i, viaEdge := range []bool{false, true} {
		r, err := measurePublish(dir, viaEdge, n, dur, ramp, bitrate)
		if err != nil {
			return err
		}
		runs[i] = r
		where := "direct"
		if viaEdge {
			where = "via edge"
		}
		fmt.Printf("publish %-8s players=%-5d connected=%-5d keyframe=%-5d disconnects=%-3d origin cpu=%5.1f%% startup p50=%.1f ms p99=%.1f ms  %.0f Mb/s delivered\n",
			where, n, r.s.PlayersConnected, r.s.PlayersWithKeyframe, r.s.Disconnects, r.originCPU,
			r.s.FirstKeyframeP50Ms, r.s.FirstKeyframeP99Ms, r.s.MbitPerSec)
	}
	if d := runs[0].originCPU; d > 0 {
		fmt.Printf("origin CPU, publish through the edge / direct at %d players: %.2f (goal <= 1.2)\n", n, runs[1].originCPU/d)
	}
	return nil
}

// measurePublish runs one publish path: the publisher's load process (no players) on the edge
// or the origin, then n players on the origin from another, and the origin's CPU while all play.
func measurePublish(dir string, viaEdge bool, n int, dur, ramp time.Duration, bitrate string) (publishResult, error) {
	c, err := startCluster(dir)
	if err != nil {
		return publishResult{}, err
	}
	defer c.stop()
	pubAddr := c.originAddr
	if viaEdge {
		pubAddr = c.edgeAddr
	}
	lead := 2 * time.Second // the publisher runs first, so the players join a running stream
	pub := exec.Command(filepath.Join(dir, "loadtest"), "-url", "rtmp://"+pubAddr+"/live", "-stream", "pubpath",
		"-players", "0", "-publishers", "1", "-bitrate", bitrate, "-duration", (dur + lead + time.Second).String(), "-json")
	pub.Stderr = os.Stderr
	if err := pub.Start(); err != nil {
		return publishResult{}, err
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	time.Sleep(lead)
	lt := exec.Command(filepath.Join(dir, "loadtest"), "-url", "rtmp://"+c.originAddr+"/live", "-stream", "pubpath0",
		"-players", strconv.Itoa(n), "-publishers", "0", "-bitrate", bitrate,
		"-ramp", ramp.String(), "-duration", dur.String(), "-json")
	var out bytes.Buffer
	lt.Stdout, lt.Stderr = &out, os.Stderr
	if err := lt.Start(); err != nil {
		return publishResult{}, err
	}
	oPid := c.origin.Process.Pid
	time.Sleep(ramp + 2*time.Second)
	o0, t0 := cpuSeconds(oPid), time.Now()
	time.Sleep(dur - ramp - 4*time.Second)
	o1, el := cpuSeconds(oPid), time.Since(t0).Seconds()
	if err := lt.Wait(); err != nil {
		return publishResult{}, fmt.Errorf("loadtest: %v", err)
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return publishResult{}, fmt.Errorf("loadtest output: %v: %q", err, out.String())
	}
	return publishResult{viaEdge: viaEdge, originCPU: 100 * (o1 - o0) / el, s: s}, nil
}
