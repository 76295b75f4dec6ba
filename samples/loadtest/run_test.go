package main

import (
	"bytes"
	"context"
	"github.com/fmsgo/fmsgo/core/peertest"
	"testing"
	"time"
)

// TestRunAgainstNginx runs the generator in-process for 2 s with 1 publisher and 5 players.
func TestRunAgainstNginx(t *testing.T) {
	t.Parallel()
	addr := peertest.StartNginx(t)
	cfg := Config{URL: "rtmp://" + addr + "/live", Stream: "lt", Players: 5, Publishers: 1,
		Ramp: 200 * time.Millisecond, Duration: 2 * time.Second, Bitrate: 1_000_000,
		Timeout: 5 * time.Second, ReadBuffer: 64 << 10, SourceAddrs: []string{"127.0.0.1", "127.0.0.2"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum.print(&out)
	t.Log("\n" + out.String())
	switch {
	case sum.PlayersConnected != 5 || sum.PlayersFailed != 0 || sum.Disconnects != 0 || len(sum.Errors) != 0:
		t.Fatalf("connections: %+v", sum)
	case sum.PublishersOK != 1 || sum.PublishedMessages < 50:
		t.Fatalf("publisher: %+v", sum)
	case sum.PlayersWithKeyframe != 5 || sum.FirstKeyframeP50Ms <= 0 || sum.FirstKeyframeP99Ms > 1900:
		t.Fatalf("keyframes: %+v", sum)
	case sum.Messages < 5*30 || sum.Bytes < 5*100_000 || sum.Seconds < 1.9 || sum.Seconds > 5:
		t.Fatalf("volume: %+v", sum)
	}
}
