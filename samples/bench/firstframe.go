package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// firstFrameBench times a default ffmpeg player joining a running stream: an ffmpeg publisher
// (lavfi H.264 25 fps, GOP 25, AAC) feeds the server, then `ffmpeg -i URL -frames:v 1 -f null -`
// runs several times, each timed from its start until it exits after decoding its first frame
// (process start included: the same command on a lavfi source is printed as the floor). Servers:
// fmsgo direct, through an edge, and nginx-rtmp when installed, in the same run.
func firstFrameBench(dir string, runs int) error {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		fmt.Println("first frame: skipped (ffmpeg not installed)")
		return nil
	}
	if err := buildOrCopy(dir, "edge", "./edge/cmd/edge"); err != nil {
		return err
	}
	fmt.Printf("first frame: a default `ffmpeg -i rtmp://.../live/ff -frames:v 1 -f null -` joining a 25 fps stream (GOP 25), %d runs spread over the GOP, start to exit\n", runs)
	floor := timeFirstFrame(ff, runs, 0, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25")
	printFirstFrame("ffmpeg floor (lavfi source, no network)", floor)
	type target struct {
		name  string
		start func() (stop func(), publishTo, playFrom string, err error)
	}
	targets := []target{
		{"fmsgo direct", func() (func(), string, string, error) {
			srv, addr, err := startOrigin(dir)
			if err != nil {
				return nil, "", "", err
			}
			stop := func() { srv.Process.Signal(os.Interrupt); srv.Wait() }
			return stop, addr, addr, waitListening(addr)
		}},
		{"fmsgo via edge", func() (func(), string, string, error) {
			c, err := startCluster(dir)
			if err != nil {
				return nil, "", "", err
			}
			return c.stop, c.originAddr, c.edgeAddr, nil
		}},
	}
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_rtmp_module.so"); err == nil {
		targets = append(targets, target{"nginx-rtmp", func() (func(), string, string, error) {
			srv, addr, err := startNginx(dir)
			if err != nil {
				return nil, "", "", err
			}
			stop := func() { srv.Process.Signal(os.Interrupt); srv.Wait() }
			return stop, addr, addr, waitListening(addr)
		}})
	}
	for _, tg := range targets {
		stop, pubAddr, playAddr, err := tg.start()
		if err != nil {
			if stop != nil {
				stop()
			}
			return fmt.Errorf("first frame, %s: %w", tg.name, err)
		}
		d, err := firstFrameAgainst(ff, pubAddr, playAddr, runs)
		stop()
		if err != nil {
			return fmt.Errorf("first frame, %s: %w", tg.name, err)
		}
		printFirstFrame(tg.name, d)
	}
	return nil
}

// firstFrameAgainst publishes to pubAddr and times the players on playAddr.
func firstFrameAgainst(ff, pubAddr, playAddr string, runs int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := exec.CommandContext(ctx, ff, "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-c:a", "aac",
		"-f", "flv", "rtmp://"+pubAddr+"/live/ff")
	pub.Stderr = os.Stderr
	if err := pub.Start(); err != nil {
		return nil, err
	}
	defer func() { cancel(); pub.Wait() }()
	url := "rtmp://" + playAddr + "/live/ff"
	up := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if exec.Command(ff, firstFrameArgs("-rw_timeout", "3000000", "-i", url)...).Run() == nil {
			up = true
			break
		}
	}
	if !up {
		return nil, fmt.Errorf("no stream at %s", url)
	}
	time.Sleep(2 * time.Second) // past the publisher's first GOPs: a join at any phase of a GOP
	d := timeFirstFrame(ff, runs, 3*time.Second+time.Second/time.Duration(runs), "-rw_timeout", "8000000", "-i", url)
	if len(d) < runs {
		return d, fmt.Errorf("%d of %d players decoded no frame", runs-len(d), runs)
	}
	return d, nil
}

// timeFirstFrame runs the player runs times and returns the durations of the runs that
// succeeded. With a period, the runs start period apart, which is a whole number of seconds plus
// 1/runs s, so that the joins fall evenly over the phases of the stream's 1 s GOP.
func timeFirstFrame(ff string, runs int, period time.Duration, input ...string) []time.Duration {
	var d []time.Duration
	base := time.Now()
	for i := 0; i < runs; i++ {
		time.Sleep(time.Until(base.Add(time.Duration(i) * period)))
		t0 := time.Now()
		if err := exec.Command(ff, firstFrameArgs(input...)...).Run(); err == nil {
			d = append(d, time.Since(t0))
		}
	}
	return d
}

func firstFrameArgs(input ...string) []string {
	return append(append([]string{"-nostdin", "-loglevel", "error"}, input...), "-frames:v", "1", "-f", "null", "-")
}

func printFirstFrame(name string, d []time.Duration) {
	if len(d) == 0 {
		fmt.Printf("  %-40s no run succeeded\n", name)
		return
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	fmt.Printf("  %-40s p50=%6.0f ms  max=%6.0f ms  (%d runs)\n", name, ms(s[len(s)/2]), ms(s[len(s)-1]), len(s))
}
