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
	fs.BoolVar(&o.together, "plugin-connect-together", true, "run both sides' connects at the same time, each at half -plugin-connect-rate, so that whatever else the machine does hits both alike")
	return o
}

// pluginBench runs the connect and fan-out comparisons: o.rounds alternations of none/modules.
func pluginBench(dir string, o *pluginOptions, dur, ramp time.Duration, bitrate string) error {
	rounds, players, connectDur := o.rounds, o.players, o.connectDur
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
		// Which side goes first alternates too: a run leaves its connections in TIME_WAIT for
		// the next one, which then pays for a fuller table.
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		if o.together {
			n, m, err := pluginConnectsTogether(dir, rig, o.connectRate/2, connectDur)
			if err != nil {
				return err
			}
			conNone, conMods = append(conNone, n), append(conMods, m)
		}
		for _, withMods := range order {
			c, err := 0.0, error(nil)
			if !o.together {
				if c, err = pluginConnects(dir, rig, withMods, o.connectRate, connectDur); err != nil {
					return err
				}
			}
			f, err := pluginFanout(dir, rig, withMods, players, dur, ramp, bitrate)
			if err != nil {
				return err
			}
			switch {
			case withMods && !o.together:
				conMods = append(conMods, c)
			case !o.together:
				conNone = append(conNone, c)
			}
			if players > 0 && withMods {
				fanMods = append(fanMods, f)
			} else if players > 0 {
				fanNone = append(fanNone, f)
			}
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
		fmt.Printf("plug-ins fan-out: server cpu %% of a core per 1000 players (%d players), median of %d: none %.2f, modules %.2f, %+.1f%% (mean %+.1f%%); paired %s (goal < 2%%)\n",
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

// pluginConnectsTogether measures both sides in one run: an origin without modules and one with
// them, each paced at rate, side by side on the same cores, so that a drift of the shared machine
// (another build, a noisy neighbour) lands on both at once and cancels out of their ratio.
func pluginConnectsTogether(dir string, rig *pluginRig, rate float64, d time.Duration) (none, mods float64, err error) {
	var res [2]float64
	var errs [2]error
	var wg sync.WaitGroup
	for i, withMods := range []bool{false, true} {
		wg.Go(func() { res[i], errs[i] = pluginConnects(dir, rig, withMods, rate, d) })
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
