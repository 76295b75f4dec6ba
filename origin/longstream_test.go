package origin

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestFFmpegPastExtendedTimestamp: ffmpeg publishes with timestamps past 0xFFFFFF (where other
// servers drop a stream after 4 h 40 min); an ffmpeg player and rtmpdump keep playing. ffmpeg
// sends deltas, so only the first message per chunk stream carries the extended field (TESTING.md):
// TestSyntheticPublisherPastExtendedTimestamp covers the rest.
func TestFFmpegPastExtendedTimestamp(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	ffmpegPublish(t, o.url("live/long"), 60, "-output_ts_offset", "16778")
	o.waitPublished(t, "live", "long")

	t.Run("ffmpeg", func(t *testing.T) {
		t.Parallel()
		out := runTool(t, 20*time.Second, requireTool(t, "ffmpeg"), "-nostdin", "-rw_timeout", "8000000",
			"-i", o.url("live/long"), "-t", "3", "-f", "null", "-")
		if n := lastFrameCount(out); n < 60 {
			t.Fatalf("player decoded %d frames:\n%s", n, tail(out, 15))
		}
	})
	t.Run("our-client", func(t *testing.T) {
		t.Parallel()
		ts := playTimestamps(t, o, "long", 100)
		if last := ts[len(ts)-1]; last < 0xFFFFFF { // sequence headers may carry 0; frames must not
			t.Fatalf("timestamp %d, want past 0xFFFFFF", last)
		}
	})
	t.Run("rtmpdump", func(t *testing.T) {
		t.Parallel()
		tags := rtmpdumpTags(t, o.url("live/long"), 4*time.Second)
		checkFLVTimestamps(t, tags, 50)
	})
}

// playTimestamps plays name and returns the timestamps of the first n media messages,
// failing if they ever go backwards.
func playTimestamps(t *testing.T, o *testOrigin, name string, n int) []uint32 {
	t.Helper()
	c := dial(t, o.url("live"), rtmpclient.Options{})
	sid, _ := c.CreateStream(ctx5(t))
	c.Play(sid, name, -2)
	var ts []uint32
	ctx := ctx5(t)
	for len(ts) < n {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(ts), err)
		}
		if ev.Kind != rtmpclient.EventMedia {
			continue
		}
		if len(ts) > 0 && ev.Timestamp < ts[len(ts)-1] {
			t.Fatalf("timestamp went backwards: %d after %d", ev.Timestamp, ts[len(ts)-1])
		}
		ts = append(ts, ev.Timestamp)
	}
	return ts
}

type flvTag struct {
	typeID byte
	ts     uint32
	data   []byte
}

// rtmpdumpTags saves a live stream with rtmpdump for a while and parses the FLV it wrote.
func rtmpdumpTags(t *testing.T, url string, d time.Duration) []flvTag {
	t.Helper()
	file := filepath.Join(t.TempDir(), "out.flv")
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = exec.CommandContext(ctx, requireTool(t, "rtmpdump"), "-r", url, "--live", "-o", file).Run()
	b, err := os.ReadFile(file)
	if err != nil || len(b) < 13 || string(b[:3]) != "FLV" {
		t.Fatalf("rtmpdump wrote no FLV: %v", err)
	}
	return parseFLV(b)
}

func parseFLV(b []byte) []flvTag {
	if len(b) < 13 {
		return nil
	}
	var tags []flvTag
	for p := b[13:]; len(p) >= 11; {
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if len(p) < 11+size+4 {
			break
		}
		ts := uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6]) | uint32(p[7])<<24
		tags = append(tags, flvTag{p[0], ts, p[11 : 11+size]})
		p = p[11+size+4:]
	}
	return tags
}

func checkFLVTimestamps(t *testing.T, tags []flvTag, minTags int) {
	t.Helper()
	var last uint32
	n := 0
	for _, tg := range tags {
		if tg.typeID != 8 && tg.typeID != 9 {
			continue
		}
		if n > 0 && tg.ts < last {
			t.Fatalf("rtmpdump saw a timestamp go backwards: %d after %d", tg.ts, last)
		}
		last = tg.ts
		n++
	}
	if n < minTags {
		t.Fatalf("rtmpdump saved only %d media tags", n)
	}
}

// rawChunks builds a message as chunks the way a test publisher wants them: fmt 0 with an
// absolute (extended) timestamp, fmt-3 continuations with or without the repeated 4 bytes.
func rawChunks(csid byte, ts uint32, typeID byte, streamID uint32, payload []byte, chunkSize int, repeatExt bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{csid, 0xFF, 0xFF, 0xFF, byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typeID})
	binary.Write(&b, binary.LittleEndian, streamID)
	binary.Write(&b, binary.BigEndian, ts)
	for off := 0; off < len(payload); off += chunkSize {
		if off > 0 {
			b.WriteByte(0xC0 | csid)
			if repeatExt {
				binary.Write(&b, binary.BigEndian, ts)
			}
		}
		b.Write(payload[off:min(len(payload), off+chunkSize)])
	}
	return b.Bytes()
}

// TestSyntheticPublisherPastExtendedTimestamp: a publisher sending fmt-0 absolute timestamps
// past 0xFFFFFF on every message, multi-chunk, with and without the 4 bytes on continuations;
// our player and rtmpdump get every frame intact with timestamps that never go backwards.
func TestSyntheticPublisherPastExtendedTimestamp(t *testing.T) {
	t.Parallel()
	requireTool(t, "rtmpdump")
	for _, repeat := range []bool{true, false} {
		t.Run(fmt.Sprintf("repeat=%v", repeat), func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t)
			name := fmt.Sprintf("ext%v", repeat)
			pub := dial(t, o.url("live"), rtmpclient.Options{ChunkSize: 128})
			sid, _ := pub.CreateStream(ctx5(t))
			if _, err := pub.Publish(ctx5(t), sid, name, "live"); err != nil {
				t.Fatal(err)
			}
			const base = 0xFFFFFF - 2000 // crosses the 24-bit boundary during the run
			player := dial(t, o.url("live"), rtmpclient.Options{})
			psid, _ := player.CreateStream(ctx5(t))
			player.Play(psid, name, -1)
			waitFor(t, 5*time.Second, "the player", func() bool { return o.srv.subscriberCount("live", name) == 1 })
			dumped := make(chan []flvTag, 1)
			go func() { dumped <- rtmpdumpTagsNoFail(o.url("live/"+name), 4*time.Second) }()
			waitFor(t, 5*time.Second, "rtmpdump", func() bool { return o.srv.subscriberCount("live", name) == 2 })
			const frames = 150
			for i := 0; i < frames; i++ {
				ts := uint32(base + i*40)
				if err := pub.WriteRaw(rawChunks(7, ts, 9, sid, videoFrame(i, i%25 == 0, 700), 128, repeat)); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			var last uint32
			ctx := ctx5(t)
			for got < frames {
				ev, err := player.NextEvent(ctx)
				if err != nil {
					t.Fatalf("after %d frames: %v", got, err)
				}
				if ev.Kind != rtmpclient.EventMedia {
					continue
				}
				if want := fmt.Sprintf("frame-%06d", got); !bytes.Contains(ev.Payload, []byte(want)) || len(ev.Payload) != 700 {
					t.Fatalf("frame %d corrupted: %q", got, ev.Payload[:20])
				}
				if ev.Timestamp != uint32(base+got*40) || ev.Timestamp < last {
					t.Fatalf("frame %d timestamp %d, want %d", got, ev.Timestamp, base+got*40)
				}
				last = ev.Timestamp
				got++
			}
			tags := <-dumped
			checkFLVTimestamps(t, tags, frames/2)
		})
	}
}

func rtmpdumpTagsNoFail(url string, d time.Duration) []flvTag {
	dir, _ := os.MkdirTemp("", "rtmpdump")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "out.flv")
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = exec.CommandContext(ctx, "rtmpdump", "-r", url, "--live", "-o", file).Run()
	b, _ := os.ReadFile(file)
	return parseFLV(b)
}
