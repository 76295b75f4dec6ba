package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/authtoken"
)

// The plug-in section: what the shipped modules cost a connect and a fan-out, the same runs with
// auth.token (every connect, publish and play carries a token it checks), events.accesslog (a
// file) and events.webhook (a receiver in the bench process) and without any module, alternated
// so that a drift of the machine hits both sides alike.

// pluginRig is what the runs with modules need: the config file and the webhook receiver.
type pluginRig struct {
	config   string // the origin's -config with the three modules
	token    string // valid for connect, publish and play of anything
	received atomic.Int64
	srv      *http.Server
}

func newPluginRig(dir string, modules []string) (*pluginRig, error) {
	r := &pluginRig{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go r.srv.Serve(ln)
	key := []byte("bench-key-0123456789abcdef")
	if r.token, err = authtoken.Sign(key, "k1", authtoken.Claims{App: "*", Stream: "*",
		Actions: []plugin.Action{plugin.ActConnect, plugin.ActPublish, plugin.ActPlay}, Expires: time.Now().Add(24 * time.Hour)}); err != nil {
		return nil, err
	}
	pd := filepath.Join(dir, "plugins")
	os.MkdirAll(pd, 0o700)
	if err := os.WriteFile(filepath.Join(pd, "token.keys"), []byte("k1 "+string(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	r.config = filepath.Join(pd, "origin.toml")
	tables := map[string]string{
		"auth.token":       "keys_file = \"token.keys\"\nprotect = [\"connect\", \"publish\", \"play\"]\n",
		"events.accesslog": fmt.Sprintf("path = %q\n", filepath.Join(pd, "access.log")),
		"events.webhook":   fmt.Sprintf("urls = [\"http://%s/events\"]\n", ln.Addr()),
	}
	conf := ""
	for _, id := range modules {
		t, ok := tables[id]
		if !ok {
			return nil, fmt.Errorf("plug-in bench: no table for module %q", id)
		}
		conf += fmt.Sprintf("[modules.%q]\n%s\n", id, t)
	}
	return r, os.WriteFile(r.config, []byte(conf), 0o644)
}

func (r *pluginRig) close() { r.srv.Close() }

// pluginOptions are the plug-in section's flags.
type pluginOptions struct {
	rounds, players int
	connectDur      time.Duration
	connectRate     float64
	modules         string
	together        bool
}

func pluginFlags(fs *flag.FlagSet) *pluginOptions {
	o := &pluginOptions{}
	fs.IntVar(&o.rounds, "plugin-rounds", 3, "alternated rounds of the plug-in cost runs, without and with auth.token+events.accesslog+events.webhook (0: skip)")
	fs.IntVar(&o.players, "plugin-players", 1000, "players of the plug-in fan-out runs")
	fs.DurationVar(&o.connectDur, "plugin-connect-duration", 5*time.Second, "length of each plug-in connect run")
	fs.StringVar(&o.modules, "plugin-modules", "auth.token,events.accesslog,events.webhook", "the modules of the plug-in runs' modules side")
	fs.Float64Var(&o.connectRate, "plugin-connect-rate", 3000, "connects a second of the plug-in connect runs, the same for both sides (0: as fast as 8 clients go)")
	fs.BoolVar(&o.together, "plugin-together", true, "run both sides at the same time, each with half -plugin-connect-rate and half -plugin-players, so that whatever else the machine does hits both alike (false: one side after the other)")
	return o
}

// pluginBench runs the connect and fan-out comparisons: o.rounds alternations of none/modules.
func pluginBench(dir string, o *pluginOptions, dur, ramp time.Duration, bitrate string) error {
	rounds, players := o.rounds, o.players
	rig, err := newPluginRig(dir, strings.Split(o.modules, ","))
	if err != nil {
		return err
	}
	defer rig.close()
	appDir := filepath.Join(dir, "apps", "rpc")
	os.MkdirAll(appDir, 0o755)
	if err := os.WriteFile(filepath.Join(appDir, "main.js"), []byte(benchApp), 0o644); err != nil {
		return err
	}
	fmt.Printf("plug-ins: %s (auth.token checks connect, publish and play) vs no module, %d alternated rounds; load average %s\n", o.modules, rounds, loadAverage())
	var conNone, conMods, fanNone, fanMods []float64
	for i := 0; i < rounds; i++ {
		var r [4]float64 // connect none, connect modules, fan-out none, fan-out modules
		var err error
		if o.together {
			r, err = pluginRoundTogether(dir, rig, o, dur, ramp, bitrate)
		} else {
			r, err = pluginRoundAlternated(dir, rig, o, i%2 == 1, dur, ramp, bitrate)
		}
		if err != nil {
			return err
		}
		conNone, conMods = append(conNone, r[0]), append(conMods, r[1])
		if players > 0 {
			fanNone, fanMods = append(fanNone, r[2]), append(fanMods, r[3])
		}
	}
	cn, cm, fn, fm := median(conNone), median(conMods), median(fanNone), median(fanMods)
	label := rateLabel(o.connectRate)
	if o.together {
		label = "both sides at once, each " + rateLabel(o.connectRate/2)
	}
	fmt.Printf("plug-ins connect: server cpu per connect (%s), median of %d: none %.0f µs, modules %.0f µs, %+.1f%% (mean %+.1f%%); paired %s (goal < 10%%)\n",
		label, rounds, cn, cm, 100*(cm/cn-1), 100*(mean(conMods)/mean(conNone)-1), pairedChange(conNone, conMods))
	if players > 0 {
		if o.together {
			players /= 2
		}
		fmt.Printf("plug-ins fan-out: server cpu %% of a core per 1000 players (%d players each), median of %d: none %.2f, modules %.2f, %+.1f%% (mean %+.1f%%); paired %s (goal < 2%%)\n",
			players, rounds, fn, fm, 100*(fm/fn-1), 100*(mean(fanMods)/mean(fanNone)-1), pairedChange(fanNone, fanMods))
	}
	fmt.Printf("plug-ins: the webhook receiver got %d POSTs\n", rig.received.Load())
	return nil
}

// pairedChange is the median of the rounds' own changes (modules/none - 1 of one round, whose
// two runs sat next to each other), with the smallest and largest: a slow drift of the shared
// machine moves both runs of a round alike and cancels out of their ratio, where it widens the
// spread of each side's median.
func pairedChange(none, mods []float64) string {
	var r []float64
	for i := range none {
		if i < len(mods) && none[i] > 0 {
			r = append(r, 100*(mods[i]/none[i]-1))
		}
	}
	if len(r) == 0 {
		return "n/a"
	}
	sorted := append([]float64(nil), r...)
	sort.Float64s(sorted)
	return fmt.Sprintf("median %+.1f%% of %d rounds (min %+.1f%%, max %+.1f%%)", median(r), len(r), sorted[0], sorted[len(sorted)-1])
}

// pluginOrigin starts an origin, with the modules' config or without; with $BENCH_CPUPROFILE
// set, each side writes its own profile (the path with .none or .modules appended).
func pluginOrigin(dir string, rig *pluginRig, withMods bool) func(string) (*exec.Cmd, string, error) {
	return func(d string) (*exec.Cmd, string, error) {
		var extra []string
		side := ".none"
		if withMods {
			extra, side = []string{"-config", rig.config}, ".modules"
		}
		if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
			extra = append(extra, "-cpuprofile", p+side)
		}
		return startOrigin(d, extra...)
	}
}

// pluginConnects returns the server's CPU µs per connect with 8 connects in flight.
func pluginConnects(dir string, rig *pluginRig, withMods bool, rate float64, d time.Duration) (float64, error) {
	srv, addr, err := pluginOrigin(dir, rig, withMods)(dir)
	if err != nil {
		return 0, err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return 0, err
	}
	// Both sides' clients carry the token: the same bytes on the wire, checked or not.
	app, label := "rpc?token="+rig.token, "connect none   "
	if withMods {
		label = "connect modules"
	}
	r, err := measurePacedConnects(srv.Process.Pid, addr, app, 8, rate, d, label)
	return float64(r.cpuPerConn) / 1e3, err
}

// pluginRoundAlternated runs one round side after side (modules first when modsFirst: a run
// leaves its connections in TIME_WAIT for the next one, which then pays for a fuller table).
func pluginRoundAlternated(dir string, rig *pluginRig, o *pluginOptions, modsFirst bool, dur, ramp time.Duration, bitrate string) ([4]float64, error) {
	var r [4]float64
	for _, withMods := range []bool{modsFirst, !modsFirst} {
		i := 0
		if withMods {
			i = 1
		}
		var err error
		if r[i], err = pluginConnects(dir, rig, withMods, o.connectRate, o.connectDur); err != nil {
			return r, err
		}
		if r[2+i], err = pluginFanout(dir, rig, withMods, o.players, dur, ramp, bitrate); err != nil {
			return r, err
		}
	}
	return r, nil
}

// pluginRoundTogether runs one round with both sides at once, each at half the connect rate
// and with half the players.
func pluginRoundTogether(dir string, rig *pluginRig, o *pluginOptions, dur, ramp time.Duration, bitrate string) ([4]float64, error) {
	var r [4]float64
	var err error
	r[0], r[1], err = both(func(withMods bool) (float64, error) {
		return pluginConnects(dir, rig, withMods, o.connectRate/2, o.connectDur)
	})
	if err != nil || o.players <= 0 {
		return r, err
	}
	r[2], r[3], err = both(func(withMods bool) (float64, error) {
		return pluginFanout(dir, rig, withMods, o.players/2, dur, ramp, bitrate)
	})
	return r, err
}

// both runs measure for the side without modules and the side with them at the same time, on
// the same cores, so that a drift of the shared machine (another build, a noisy neighbour)
// lands on both at once and cancels out of their ratio.
func both(measure func(withMods bool) (float64, error)) (none, mods float64, err error) {
	var res [2]float64
	var errs [2]error
	var wg sync.WaitGroup
	for i, withMods := range []bool{false, true} {
		wg.Go(func() { res[i], errs[i] = measure(withMods) })
	}
	wg.Wait()
	return res[0], res[1], errors.Join(errs[0], errs[1])
}

// pluginFanout returns the server's CPU (% of a core) per 1000 connected players.
func pluginFanout(dir string, rig *pluginRig, withMods bool, players int, dur, ramp time.Duration, bitrate string) (float64, error) {
	if players <= 0 {
		return 0, nil
	}
	query := "?token=" + rig.token // on both sides, as for the connects
	r, err := measureStream(dir, pluginOrigin(dir, rig, withMods), query, players, dur, ramp, bitrate)
	if err != nil {
		return 0, err
	}
	if withMods {
		r.server = "fmsgo+mods"
	}
	print(r)
	return r.cpuPct * 1000 / float64(max(1, r.s.PlayersConnected)), nil
}

func mean(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(max(len(v), 1))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func rateLabel(rate float64) string {
	if rate <= 0 {
		return "8 in flight, unpaced"
	}
	return fmt.Sprintf("paced at %.0f/s, 8 in flight at most", rate)
}
