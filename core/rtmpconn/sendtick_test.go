package rtmpconn

import (
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

func TestFlushIntervalFor(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, c := range []struct{ buffer, base, ceiling, want time.Duration }{
		{0, 40 * ms, 200 * ms, 40 * ms},           // no buffer announced
		{100 * ms, 40 * ms, 200 * ms, 40 * ms},    // Flash's default live buffer
		{500 * ms, 40 * ms, 200 * ms, 80 * ms},    // a fifth, rounded down to a step
		{1000 * ms, 40 * ms, 200 * ms, 200 * ms},  // web players
		{3000 * ms, 40 * ms, 200 * ms, 200 * ms},  // ffmpeg/ffplay: capped
		{36e6 * ms, 40 * ms, 200 * ms, 200 * ms},  // rtmpdump's 10 h
		{3000 * ms, 40 * ms, 40 * ms, 40 * ms},    // adaptation off
		{3000 * ms, 40 * ms, 10 * ms, 40 * ms},    // a ceiling below the base: base
		{3000 * ms, 25 * ms, 1000 * ms, 600 * ms}, // other steps
	} {
		if got := flushIntervalFor(c.buffer, c.base, c.ceiling); got != c.want {
			t.Errorf("flushIntervalFor(%v, %v, %v) = %v, want %v", c.buffer, c.base, c.ceiling, got, c.want)
		}
	}
}

// TestSetBufferLengthPicksTheTick: the player's SetBufferLength moves its connection to the
// tick that suits its buffer; with coalescing off it changes nothing.
func TestSetBufferLengthPicksTheTick(t *testing.T) {
	t.Parallel()
	p := newPair(t, Config{})
	if got := p.c.tick.Load().interval; got != DefaultMediaFlushInterval {
		t.Fatalf("initial interval %v", got)
	}
	for _, c := range []struct {
		bufferMs uint32
		want     time.Duration
	}{{3000, DefaultMaxMediaFlushInterval}, {100, DefaultMediaFlushInterval}, {500, 80 * time.Millisecond}} {
		if err := p.c.handleUserControl(rtmpmsg.AppendUserControl(nil, rtmpmsg.EventSetBufferLength, 1, c.bufferMs)); err != nil {
			t.Fatal(err)
		}
		if got := p.c.tick.Load().interval; got != c.want {
			t.Fatalf("buffer %d ms: interval %v, want %v", c.bufferMs, got, c.want)
		}
	}
	off := newPair(t, Config{MediaFlushInterval: -1})
	if err := off.c.handleUserControl(rtmpmsg.AppendUserControl(nil, rtmpmsg.EventSetBufferLength, 1, 3000)); err != nil {
		t.Fatal(err)
	}
	if off.c.tick.Load() != nil {
		t.Fatal("coalescing switched on by a SetBufferLength")
	}
}
