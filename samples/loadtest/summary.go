package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"syscall"
	"time"
)

// Summary is the outcome of a run; -json prints it as is.
type Summary struct {
	URL        string  `json:"url"`
	Seconds    float64 `json:"seconds"`
	Players    int     `json:"players"`
	Publishers int     `json:"publishers"`

	PlayersConnected    int     `json:"players_connected"`
	PlayersFailed       int     `json:"players_failed"`  // dial, handshake or connect failed
	PlayersPending      int     `json:"players_pending"` // still connecting when the run ended
	Disconnects         int     `json:"disconnects"`     // connected, then lost before the end
	PlayersWithKeyframe int     `json:"players_with_keyframe"`
	FirstKeyframeP50Ms  float64 `json:"first_keyframe_p50_ms"` // dial → first video keyframe
	FirstKeyframeP99Ms  float64 `json:"first_keyframe_p99_ms"`
	FirstKeyframeMaxMs  float64 `json:"first_keyframe_max_ms"`
	Bytes               uint64  `json:"bytes"`    // read by all players
	Messages            uint64  `json:"messages"` // audio/video messages read by all players
	MbitPerSec          float64 `json:"mbit_per_sec"`

	PublishersOK      int            `json:"publishers_ok"`
	PublisherDrops    int            `json:"publisher_disconnects"`
	PublishedBytes    uint64         `json:"published_bytes"`
	PublishedMessages uint64         `json:"published_messages"`
	LoadgenCPUSeconds float64        `json:"loadgen_cpu_seconds"` // this process, user+system
	Errors            map[string]int `json:"errors,omitempty"`    // reasons, counted

	keyframes []time.Duration
}

func newSummary(cfg *Config) *Summary {
	return &Summary{URL: cfg.URL, Players: cfg.Players, Publishers: cfg.Publishers, Errors: map[string]int{}}
}

func (s *Summary) addPlayer(r playerResult) {
	switch {
	case !r.connected && r.err == nil:
		s.PlayersPending++
	case !r.connected:
		s.PlayersFailed++
	case r.disconnected:
		s.PlayersConnected++
		s.Disconnects++
	default:
		s.PlayersConnected++
	}
	if r.err != nil {
		s.Errors[errorKey(r.err)]++
	}
	if r.firstKey > 0 {
		s.keyframes = append(s.keyframes, r.firstKey)
	}
	s.Bytes += r.bytes
	s.Messages += r.messages
}

func (s *Summary) addPublisher(r publisherResult) {
	if r.published {
		s.PublishersOK++
	}
	if r.disconnected {
		s.PublisherDrops++
		s.Errors["publisher: "+errorKey(r.err)]++
	}
	s.PublishedBytes += r.bytes
	s.PublishedMessages += r.messages
}

// errorKey shortens an error to a countable reason.
func errorKey(err error) string {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

func (s *Summary) finish(elapsed time.Duration, cpu time.Duration) {
	s.Seconds = elapsed.Seconds()
	s.LoadgenCPUSeconds = cpu.Seconds()
	if s.Seconds > 0 {
		s.MbitPerSec = float64(s.Bytes) * 8 / 1e6 / s.Seconds
	}
	slices.Sort(s.keyframes)
	s.PlayersWithKeyframe = len(s.keyframes)
	s.FirstKeyframeP50Ms = ms(percentile(s.keyframes, 0.50))
	s.FirstKeyframeP99Ms = ms(percentile(s.keyframes, 0.99))
	s.FirstKeyframeMaxMs = ms(percentile(s.keyframes, 1))
}

// percentile of sorted durations by the nearest-rank method; 0 when empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// print writes the human-readable summary.
func (s *Summary) print(w io.Writer) {
	fmt.Fprintf(w, "url %s, %.1f s, loadgen CPU %.2f s\n", s.URL, s.Seconds, s.LoadgenCPUSeconds)
	fmt.Fprintf(w, "players     %d: connected %d, failed %d, pending %d, disconnected %d\n",
		s.Players, s.PlayersConnected, s.PlayersFailed, s.PlayersPending, s.Disconnects)
	fmt.Fprintf(w, "keyframe    %d players; dial→first keyframe p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		s.PlayersWithKeyframe, s.FirstKeyframeP50Ms, s.FirstKeyframeP99Ms, s.FirstKeyframeMaxMs)
	fmt.Fprintf(w, "received    %d bytes, %d messages, %.1f Mb/s\n", s.Bytes, s.Messages, s.MbitPerSec)
	fmt.Fprintf(w, "publishers  %d: publishing %d, disconnected %d; sent %d bytes, %d messages\n",
		s.Publishers, s.PublishersOK, s.PublisherDrops, s.PublishedBytes, s.PublishedMessages)
	keys := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.Errors[keys[i]] > s.Errors[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(w, "error       %d× %s\n", s.Errors[k], k)
	}
}
