package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

const benchApp = `
application.onConnect = function (client) { return true; };
Client.prototype.echo = function (x) { return x; };
`

// rpcOptions are the flags of the RPC and connect sections.
type rpcOptions struct {
	clients    int           // RPC clients (0: skip the RPC and connect sections)
	d          time.Duration // each RPC run
	rate       float64       // calls/s of the paced runs (0: skip them)
	instances  int           // app instances of the spread run (below 2: skip it)
	connect    string        // connects in flight of the connect runs ("": skip them)
	webhook    bool          // the connect runs with events.webhook (hanging and quick receivers) vs none
	profiles   bool          // print where the origin's CPU goes in the RPC and connect runs
	profileDir string        // keep the CPU profiles here ("": the bench's temporary folder)
	full       bool          // RPC clients are core/rtmpclient's, not the raw callers
}

// rpcFlags registers the RPC and connect sections' flags on fs.
func rpcFlags(fs *flag.FlagSet) *rpcOptions {
	o := &rpcOptions{}
	fs.IntVar(&o.clients, "rpc-clients", 100, "concurrent clients of the RPC runs (0: skip the RPC and connect runs)")
	fs.DurationVar(&o.d, "rpc-duration", 10*time.Second, "length of each RPC run")
	fs.Float64Var(&o.rate, "rpc-rate", 12000, "calls/s of the paced RPC runs, over all clients (0: skip them)")
	fs.IntVar(&o.instances, "rpc-instances", 8, "app instances the spread RPC run's clients are spread over (below 2: skip it)")
	fs.StringVar(&o.connect, "connect-workers", "8,32,256", "connects in flight of the connect runs (empty: skip them)")
	fs.BoolVar(&o.webhook, "connect-webhook", true, "connect runs with events.webhook posting to a hanging and to a quick receiver vs none (needs -connect-workers)")
	fs.BoolVar(&o.profiles, "profiles", true, "print where the origin's CPU goes (a CPU profile's summary) for the RPC and connect runs")
	fs.BoolVar(&o.full, "rpc-full-client", false, "RPC runs use core/rtmpclient's clients (their CPU caps a saturated run on 2 cores) instead of the raw callers")
	fs.StringVar(&o.profileDir, "profile-dir", "", "keep the origin's CPU profiles of the RPC and connect runs here (default: deleted)")
	return o
}

// profilePath is where the origin's profile of run name goes, or "" when profiling is off.
func (o *rpcOptions) profilePath(dir, name string) string {
	if !o.profiles {
		return ""
	}
	if o.profileDir != "" {
		dir = o.profileDir
	}
	return filepath.Join(dir, "origin-"+name+".prof")
}

// withOrigin starts an origin (writing a CPU profile to profile unless it is ""), runs fn with
// its pid and address, stops it and prints the profile's summary under label.
func withOrigin(dir, profile, label string, fn func(pid int, addr string) error) error {
	var extra []string
	if profile != "" {
		extra = []string{"-cpuprofile", profile}
	}
	srv, addr, err := startOrigin(dir, extra...)
	if err != nil {
		return err
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Process.Signal(os.Interrupt) // SIGINT: the origin writes its profile
			srv.Wait()
		}
	}
	defer stop()
	if err := waitListening(addr); err != nil {
		return err
	}
	if err := fn(srv.Process.Pid, addr); err != nil {
		return err
	}
	stop()
	if profile == "" {
		return nil
	}
	return printProfile(label, filepath.Join(dir, "origin"), profile)
}

// rpcBench measures NetConnection.call round trips with many concurrent clients: fmsgo through
// a trivial JS method, at saturation and paced, on one app instance and spread over several;
// nginx-rtmp (no app logic) answering createStream, its cheapest round trip, at the same rates
// with the same clients. Then the connect runs.
func rpcBench(dir string, o *rpcOptions) error {
	appDir := filepath.Join(dir, "apps", "rpc")
	os.MkdirAll(appDir, 0o755)
	if err := os.WriteFile(filepath.Join(appDir, "main.js"), []byte(benchApp), 0o644); err != nil {
		return err
	}
	fmt.Printf("rpc: NetConnection.call round trips from %d clients (%s in the bench process), %s per run; fmsgo calls a JS method, nginx-rtmp answers createStream (it runs no app logic); load average %s\n",
		o.clients, clientKind(o.full), o.d, loadAverage())
	var r rpcResults
	if err := r.fmsgo(dir, o); err != nil {
		return err
	}
	if err := r.nginx(dir, o); err != nil {
		return err
	}
	r.print(o)
	if o.connect == "" {
		return nil
	}
	return connectBench(dir, o)
}

// rpcResults are the RPC section's runs; a run that was skipped is nil.
type rpcResults struct {
	sat, paced, spread, ngxSat, ngxPaced *callStats
}

// fmsgo runs the origin's RPC runs, each against a fresh origin with its own profile.
func (r *rpcResults) fmsgo(dir string, o *rpcOptions) error {
	var err error
	if r.sat, err = fmsgoCalls(dir, o, "saturation", 1, 0, o.profilePath(dir, "rpc-saturation")); err != nil {
		return err
	}
	if o.rate > 0 {
		if r.paced, err = fmsgoCalls(dir, o, pacedLabel(o.rate), 1, o.rate, o.profilePath(dir, "rpc-paced")); err != nil {
			return err
		}
	}
	if o.instances > 1 {
		if r.spread, err = fmsgoCalls(dir, o, "saturation", o.instances, 0, ""); err != nil {
			return err
		}
	}
	return nil
}

// fmsgoCalls runs one RPC load against a fresh origin, its clients spread over instances app
// instances (rpc/i0, rpc/i1, ...), at rate calls/s (0: saturation).
func fmsgoCalls(dir string, o *rpcOptions, name string, instances int, rate float64, profile string) (*callStats, error) {
	what := fmt.Sprintf("%d instances", instances)
	if instances == 1 {
		what = "1 instance"
	}
	var s callStats
	err := withOrigin(dir, profile, "rpc "+name, func(pid int, addr string) error {
		var urls []string
		for i := 0; i < instances; i++ {
			urls = append(urls, fmt.Sprintf("rtmp://%s/rpc/i%d", addr, i))
		}
		var err error
		s, err = callLoad{urls: urls, clients: o.clients, method: "echo", args: []any{1.0}, rate: rate, d: o.d, pids: []int{pid}, full: o.full}.run()
		if err != nil {
			return fmt.Errorf("rpc %s, %s: %w", name, what, err)
		}
		printCalls("fmsgo", name, what, s)
		return nil
	})
	return &s, err
}

func clientKind(full bool) string {
	if full {
		return "core/rtmpclient"
	}
	return "raw callers"
}

func pacedLabel(rate float64) string { return fmt.Sprintf("paced %.0f/s", rate) }

// nginx runs the same loads against nginx-rtmp when it is installed.
func (r *rpcResults) nginx(dir string, o *rpcOptions) error {
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_rtmp_module.so"); err != nil {
		return nil
	}
	srv, addr, err := startNginx(dir)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return err
	}
	load := callLoad{urls: []string{"rtmp://" + addr + "/live"}, clients: o.clients, method: "createStream",
		d: o.d, pids: []int{srv.Process.Pid}, full: o.full}
	s, err := load.run()
	if err != nil {
		return fmt.Errorf("rpc nginx-rtmp, saturation: %w", err)
	}
	r.ngxSat = &s
	printCalls("nginx-rtmp", "saturation", "createStream", s)
	if o.rate <= 0 {
		return nil
	}
	load.rate = o.rate
	p, err := load.run()
	if err != nil {
		return fmt.Errorf("rpc nginx-rtmp, %s: %w", pacedLabel(o.rate), err)
	}
	r.ngxPaced = &p
	printCalls("nginx-rtmp", pacedLabel(o.rate), "createStream", p)
	return nil
}

func printCalls(server, run, what string, s callStats) {
	late := ""
	if s.lateP99 > 0 {
		late = fmt.Sprintf(" (%.2f ms from the scheduled time)", s.lateP99)
	}
	fmt.Printf("rpc %-10s %-14s %-12s %6.0f calls/s, p50 %.2f ms, p99 %.2f ms%s; server cpu %.0f%% of a core = %.1f µs per call (sys %.0f%% of it); bench cpu %.0f%%\n",
		server, run, what, s.rate, s.p50, s.p99, late, s.pct(0), s.perCall(0), s.servers[0].sysShare(), s.benchCPU)
}

// print prints the ratios and the goals.
func (r *rpcResults) print(o *rpcOptions) {
	ratio := func(name string, ours, theirs *callStats) {
		if ours != nil && theirs != nil {
			fmt.Printf("rpc server cpu per round trip, %s: fmsgo %.1f µs, nginx-rtmp %.1f µs, fmsgo/nginx-rtmp %.2f (goal <= 1.00); calls/s ratio %.2f\n",
				name, ours.perCall(0), theirs.perCall(0), ours.perCall(0)/max(theirs.perCall(0), 1e-9), ours.rate/max(theirs.rate, 1e-9))
		}
	}
	ratio("saturation", r.sat, r.ngxSat)
	ratio(pacedLabel(o.rate), r.paced, r.ngxPaced)
	if r.sat != nil {
		fmt.Printf("rpc saturation: %.0f calls/s (goal >= 50000)\n", r.sat.rate)
	}
	if r.paced != nil {
		fmt.Printf("rpc paced %.0f/s: p99 %.2f ms (goal < 5 ms), %.0f calls/s achieved\n", o.rate, r.paced.p99, r.paced.rate)
	}
	if r.sat != nil && r.spread != nil {
		fmt.Printf("rpc spread over %d instances / 1 instance: %.2f× calls/s (goal >= 1.7), origin cpu %.0f%% vs %.0f%% of a core\n",
			o.instances, r.spread.rate/max(r.sat.rate, 1e-9), r.spread.pct(0), r.sat.pct(0))
	}
}

type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 time.Duration) {
	if len(l.all) == 0 {
		return 0, 0
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i] < l.all[j] })
	return l.all[len(l.all)/2], l.all[len(l.all)*99/100]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
