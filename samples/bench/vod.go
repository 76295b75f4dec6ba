package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
)

// vodOptions are the flags of the recorded-playback (VOD) section.
type vodOptions struct {
	players string
	bitrate int
}

func vodFlags(fs *flag.FlagSet) *vodOptions {
	o := &vodOptions{}
	fs.StringVar(&o.players, "vod-players", "200", "player counts of the recorded-playback run, next to a live fan-out of as many (empty: skip)")
	fs.IntVar(&o.bitrate, "vod-bitrate", 2_000_000, "video bit rate of the recorded file (bits/s)")
	return o
}

// vodBench plays one recorded FLV file to N players (the load generator's players send start
// −2; nobody publishes the name, so each gets the recording, paced at real time) and prints the
// origin's CPU and resident memory per player next to the live fan-out of a stream of the same
// bit rate to as many players. The file is written first with core/flv, as a recording is: the
// load generator's synthetic shape (25 fps, a keyframe a second, 128 kb/s audio), long enough
// that no player reaches its end during the run.
func vodBench(dir string, o *vodOptions, dur, ramp time.Duration) error {
	if strings.TrimSpace(o.players) == "" {
		return nil
	}
	media := filepath.Join(dir, "data", "media", "live", "streams", "_definst_")
	if err := writeVODFile(filepath.Join(media, "vodbench.flv"), o.bitrate, dur+30*time.Second); err != nil {
		return err
	}
	fmt.Printf("recorded playback: one %d Mb/s FLV file played by N players (start -2, no publisher), next to the live fan-out of %d Mb/s to N players\n",
		o.bitrate/1_000_000, o.bitrate/1_000_000)
	for _, f := range strings.Split(o.players, ",") {
		n, _ := strconv.Atoi(strings.TrimSpace(f))
		if n <= 0 {
			continue
		}
		vod, err := measureVOD(dir, n, dur, ramp)
		if err != nil {
			return err
		}
		vod.server = "fmsgo-vod"
		print(vod)
		live, err := measure(dir, func(d string) (*exec.Cmd, string, error) { return startOrigin(d) }, n, dur, ramp, strconv.Itoa(o.bitrate))
		if err != nil {
			return err
		}
		live.server = "fmsgo-live"
		print(live)
		fmt.Printf("recorded vs live at %d players: cpu %.2fx, memory per player %.1f vs %.1f KiB\n", n,
			vod.cpuPct/max(live.cpuPct, 1e-9), vod.kibPerPlayer, live.kibPerPlayer)
	}
	return nil
}

// measureVOD is one run of N players of the recording: measureStream with no publisher.
func measureVOD(dir string, n int, dur, ramp time.Duration) (result, error) {
	return measurePlayers(dir, func(d string) (*exec.Cmd, string, error) { return startOrigin(d) }, "", "vodbench", 0, n, dur, ramp, "2M")
}

// writeVODFile writes a recording of the load generator's synthetic shape, d long.
func writeVODFile(path string, bitrate int, d time.Duration) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := flv.NewWriter(f, flv.Options{Sync: flv.SyncClose})
	if err != nil {
		return err
	}
	if err := writeSynthetic(w, bitrate, d); err != nil {
		return err
	}
	return w.Close()
}

// writeSynthetic writes 25 fps video (a keyframe a second, six times an inter frame) and
// 128 kb/s audio, interleaved by timestamp.
func writeSynthetic(w *flv.Writer, bitrate int, d time.Duration) error {
	inter := max(bitrate/8/(6+25-1), 16)
	frame := func(first byte, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = first, 1
		for i := 5; i < n; i++ {
			b[i] = byte(i * 7)
		}
		return b
	}
	key, p, audio := frame(0x17, 6*inter), frame(0x27, inter), make([]byte, 128_000/8*1024/44_100)
	audio[0], audio[1] = 0xaf, 1
	avc := []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce}
	if err := w.WriteTag(flv.TagVideo, 0, avc); err != nil {
		return err
	}
	if err := w.WriteTag(flv.TagAudio, 0, []byte{0xaf, 0, 0x12, 0x10}); err != nil {
		return err
	}
	var aNext float64
	for i := 0; time.Duration(i)*40*time.Millisecond < d; i++ {
		ts := uint32(i * 40)
		for ; aNext <= float64(ts); aNext += 1024 * 1000 / 44_100.0 {
			if err := w.WriteTag(flv.TagAudio, uint32(aNext), audio); err != nil {
				return err
			}
		}
		v := p
		if i%25 == 0 {
			v = key
		}
		if err := w.WriteTag(flv.TagVideo, ts, v); err != nil {
			return err
		}
	}
	return nil
}
