// Command bench runs the loopback load runs of `make bench`, each against bin/origin (and
// bin/edge) and, when Debian's nginx with the RTMP module is installed, against nginx-rtmp in the
// same run, printing the ratios:
//   - live fan-out: one ~2 Mb/s stream played by 1000 and 2000 players from the load generator
//     (its own process): the server's CPU (from /proc, the server process only) and the kernel's
//     share of it, resident memory per player, startup time from dial to first keyframe, and the
//     players-per-CPU-second ratio to nginx-rtmp; then through an edge;
//   - how long a default ffmpeg player joining a running stream takes to its first frame;
//   - RPC round trips (a JS method; nginx-rtmp's createStream) at saturation and paced, on one
//     app instance and spread over several, the server's CPU per call, and connects per second
//     with the CPU per connect, each with a summary of the origin's CPU profile;
//   - shared-object fan-out and writers;
//   - recorded playback: one 2 Mb/s FLV file played by 200 players, the server's CPU and memory
//     per player next to the live fan-out of the same bit rate to as many.
//
// Each section has a flag to skip it (see -help).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type summary struct {
	PlayersConnected    int     `json:"players_connected"`
	PlayersWithKeyframe int     `json:"players_with_keyframe"`
	Disconnects         int     `json:"disconnects"`
	FirstKeyframeP50Ms  float64 `json:"first_keyframe_p50_ms"`
	FirstKeyframeP99Ms  float64 `json:"first_keyframe_p99_ms"`
	MbitPerSec          float64 `json:"mbit_per_sec"`
	LoadgenCPUSeconds   float64 `json:"loadgen_cpu_seconds"`
}

type result struct {
	server                       string
	players                      int
	cpuPct, rssMiB, kibPerPlayer float64
	sysShare                     float64 // % of the server's CPU that was the kernel's (system time)
	s                            summary
}

func main() {
	counts := flag.String("players", "1000,2000", "player counts to run")
	dur := flag.Duration("duration", 20*time.Second, "length of each run (ramp included)")
	ramp := flag.Duration("ramp", 5*time.Second, "player ramp")
	bitrate := flag.String("bitrate", "2M", "stream bit rate")
	soSubs := flag.Int("so-subscribers", 1000, "subscribers of the shared-object fan-out run (0: skip the shared-object runs)")
	eo := edgeFlags(flag.CommandLine)
	ro := rpcFlags(flag.CommandLine)
	firstFrameRuns := flag.Int("firstframe-runs", 7, "ffmpeg players timed to their first frame per server (0: skip)")
	po := pluginFlags(flag.CommandLine)
	vo := vodFlags(flag.CommandLine)
	flag.Parse()
	if err := run(*counts, *dur, *ramp, *bitrate, ro, *soSubs, eo, *firstFrameRuns, po, vo); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(counts string, dur, ramp time.Duration, bitrate string, ro *rpcOptions, soSubscribers int, eo *edgeOptions, firstFrameRuns int, po *pluginOptions, vo *vodOptions) error {
	dir, err := os.MkdirTemp("", "fmsgo-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, b := range [][2]string{{"origin", "./origin/cmd/origin"}, {"loadtest", "./samples/loadtest"}} {
		if err := buildOrCopy(dir, b[0], b[1]); err != nil {
			return err
		}
	}
	os.MkdirAll(filepath.Join(dir, "apps", "live"), 0o755)
	fmt.Printf("loopback fan-out: 1 publisher at %s, players read in batches; %s per run (ramp %s); %d cores; load average %s\n",
		bitrate, dur, ramp, numCPU(), loadAverage())
	defer func() { fmt.Printf("bench done; load average %s\n", loadAverage()) }()
	var results []result
	for _, f := range strings.Split(counts, ",") {
		n, _ := strconv.Atoi(strings.TrimSpace(f))
		if n <= 0 {
			continue
		}
		servers := []func(string) (*exec.Cmd, string, error){func(d string) (*exec.Cmd, string, error) { return startOrigin(d) }}
		if _, err := os.Stat("/usr/lib/nginx/modules/ngx_rtmp_module.so"); err == nil {
			servers = append(servers, startNginx)
		}
		for _, start := range servers {
			r, err := measure(dir, start, n, dur, ramp, bitrate)
			if err != nil {
				return err
			}
			results = append(results, r)
			print(r)
		}
	}
	printRatios(results)
	if err := vodBench(dir, vo, dur, ramp); err != nil {
		return err
	}
	if firstFrameRuns > 0 {
		if err := firstFrameBench(dir, firstFrameRuns); err != nil {
			return err
		}
	}
	if err := runEdge(dir, eo, results, counts, dur, ramp, bitrate, ro); err != nil {
		return err
	}
	if ro.clients > 0 {
		if err := rpcBench(dir, ro); err != nil {
			return err
		}
	}
	if soSubscribers > 0 {
		if err := soBench(dir, soSubscribers, 100); err != nil {
			return err
		}
	}
	if po.rounds > 0 {
		return pluginBench(dir, po, dur, ramp, bitrate)
	}
	return nil
}

// buildOrCopy puts the binary name into dir: built from pkg, or copied from $BENCH_<NAME>_BIN
// (e.g. BENCH_ORIGIN_BIN=bin/origin) to compare builds, or to run while the tree is mid-edit.
func buildOrCopy(dir, name, pkg string) error {
	dst := filepath.Join(dir, name)
	if src := os.Getenv("BENCH_" + strings.ToUpper(name) + "_BIN"); src != "" {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o755)
	}
	if out, err := exec.Command("go", "build", "-o", dst, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", name, err, out)
	}
	return nil
}

// unlimited lifts the servers' connection limits: a bench's thousands of clients come from a few
// loopback addresses, faster and more of them than the defaults let one address (or the process:
// the idle run holds 19,000).
func unlimited() []string {
	return []string{"-max-connections", "-1", "-max-connections-per-address", "-1", "-accept-rate", "-1"}
}

func freePort() string {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().String()
}

// startOrigin starts an origin for direct clients only; extra flags come last, so that they win
// over $BENCH_CPUPROFILE (a CPU profile of every origin without one of its own).
func startOrigin(dir string, extra ...string) (*exec.Cmd, string, error) {
	addr := freePort()
	args := append([]string{"-rtmp", addr, "-trunk", "", "-http", "",
		"-apps", filepath.Join(dir, "apps"), "-data", filepath.Join(dir, "data"), "-log-level", "warn"}, unlimited()...)
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	args = append(args, extra...)
	cmd := exec.Command(filepath.Join(dir, "origin"), args...)
	cmd.Stderr = os.Stderr
	return cmd, addr, cmd.Start()
}

func startNginx(dir string) (*exec.Cmd, string, error) {
	addr := freePort()
	nd := filepath.Join(dir, "nginx")
	os.MkdirAll(nd, 0o755)
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1;
pid %[1]s/nginx.pid; error_log %[1]s/error.log warn;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_rlimit_nofile 20000; events { worker_connections 20000; }
rtmp { server { listen %[2]s; chunk_size 4096; application live { live on; record off; } } }
`, nd, addr)
	os.WriteFile(filepath.Join(nd, "nginx.conf"), []byte(conf), 0o644)
	cmd := exec.Command("nginx", "-p", nd, "-e", filepath.Join(nd, "error.log"), "-c", filepath.Join(nd, "nginx.conf"))
	return cmd, addr, cmd.Start()
}

func waitListening(addr string) error {
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("server at %s never listened", addr)
}

func measure(dir string, start func(string) (*exec.Cmd, string, error), n int, dur, ramp time.Duration, bitrate string) (result, error) {
	return measureStream(dir, start, "", n, dur, ramp, bitrate)
}

// measureStream is measure with a ?query (a token) on the connect URL and the stream name the
// load generator publishes and plays.
func measureStream(dir string, start func(string) (*exec.Cmd, string, error), query string, n int, dur, ramp time.Duration, bitrate string) (result, error) {
	return measurePlayers(dir, start, query, "bench"+query, 1, n, dur, ramp, bitrate)
}

// measurePlayers runs the load generator's publishers of stream (0: the players play stream as
// it is, a recording) and n players against the server start starts.
func measurePlayers(dir string, start func(string) (*exec.Cmd, string, error), query, stream string, publishers, n int, dur, ramp time.Duration, bitrate string) (result, error) {
	srv, addr, err := start(dir)
	if err != nil {
		return result{}, err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return result{}, err
	}
	name := "fmsgo"
	if strings.Contains(srv.Path, "nginx") {
		name = "nginx-rtmp"
	}
	baseRSS := rssKiB(srv.Process.Pid)
	lt := exec.Command(filepath.Join(dir, "loadtest"), "-url", "rtmp://"+addr+"/live"+query, "-stream", stream,
		"-players", strconv.Itoa(n), "-publishers", strconv.Itoa(publishers), "-bitrate", bitrate,
		"-ramp", ramp.String(), "-duration", dur.String(), "-json")
	var out bytes.Buffer
	lt.Stdout = &out
	lt.Stderr = os.Stderr
	if err := lt.Start(); err != nil {
		return result{}, err
	}
	time.Sleep(ramp + 2*time.Second)
	c0, t0 := cpuTimes(srv.Process.Pid), time.Now()
	time.Sleep(dur - ramp - 4*time.Second)
	cpu, t1 := cpuTimes(srv.Process.Pid).sub(c0), time.Now()
	rss := rssKiB(srv.Process.Pid)
	if err := lt.Wait(); err != nil {
		return result{}, fmt.Errorf("loadtest: %v", err)
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return result{}, fmt.Errorf("loadtest output: %v: %q", err, out.String())
	}
	r := result{server: name, players: n, s: s, cpuPct: 100 * cpu.total() / t1.Sub(t0).Seconds(),
		sysShare: cpu.sysShare(), rssMiB: rss / 1024}
	if s.PlayersConnected > 0 {
		r.kibPerPlayer = (rss - baseRSS) / float64(s.PlayersConnected)
	}
	return r, nil
}

func print(r result) {
	fmt.Printf("%-11s players=%-5d connected=%-5d keyframe=%-5d disconnects=%-3d cpu=%5.1f%% of a core (%.1f%%/1000 players, sys %.0f%% of it) rss=%6.1f MiB (%.1f KiB/player) startup p50=%.1f ms p99=%.1f ms  %.0f Mb/s delivered  loadgen cpu=%.1fs\n",
		r.server, r.players, r.s.PlayersConnected, r.s.PlayersWithKeyframe, r.s.Disconnects, r.cpuPct,
		r.cpuPct*1000/float64(max(1, r.s.PlayersConnected)), r.sysShare, r.rssMiB, r.kibPerPlayer,
		r.s.FirstKeyframeP50Ms, r.s.FirstKeyframeP99Ms, r.s.MbitPerSec, r.s.LoadgenCPUSeconds)
}

func printRatios(rs []result) {
	for _, a := range rs {
		for _, b := range rs {
			if a.server == "fmsgo" && b.server == "nginx-rtmp" && a.players == b.players && a.cpuPct > 0 && b.cpuPct > 0 {
				pa := float64(a.s.PlayersConnected) / (a.cpuPct / 100)
				pb := float64(b.s.PlayersConnected) / (b.cpuPct / 100)
				fmt.Printf("players per server CPU-second at %d players: fmsgo %.0f, nginx-rtmp %.0f, ratio %.2f (goal >= 2); system time %.0f%% of fmsgo's CPU, %.0f%% of nginx-rtmp's\n",
					a.players, pa, pb, pa/pb, a.sysShare, b.sysShare)
			}
		}
	}
}
