package main

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// flvTag appends one FLV tag and its PreviousTagSize.
func flvTag(b []byte, typ uint8, ts uint32, body []byte) []byte {
	b = append(b, typ, byte(len(body)>>16), byte(len(body)>>8), byte(len(body)),
		byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, uint32(11+len(body)))
}

func sampleFLV() []byte {
	b := []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0}
	b = flvTag(b, 18, 0, []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5})
	b = flvTag(b, 9, 0, []byte{0x17, 0, 0, 0, 0, 1})
	b = flvTag(b, 8, 0, []byte{0xaf, 0, 0x12, 0x10})
	b = flvTag(b, 9, 0, []byte{0x17, 1, 0, 0, 0})
	b = flvTag(b, 8, 23, []byte{0xaf, 1, 7})
	b = flvTag(b, 9, 40, []byte{0x27, 1, 0, 0, 0})
	return b
}

func headersOnlyFLV() []byte {
	b := []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0}
	return flvTag(b, 9, 0, []byte{0x17, 0, 0, 0, 0, 1})
}

func TestParseFLV(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		in           []byte
		hdrs, frames int
		bad          bool
	}{
		{name: "sample", in: sampleFLV(), hdrs: 3, frames: 3},
		{name: "truncated last tag", in: sampleFLV()[:len(sampleFLV())-6], hdrs: 3, frames: 2},
		{name: "headers only", in: headersOnlyFLV(), bad: true},
		{name: "not flv", in: []byte("GIF89a........."), bad: true},
		{name: "short", in: []byte("FLV"), bad: true},
		{name: "huge data offset", in: []byte{'F', 'L', 'V', 1, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, bad: true},
	}
	for _, tc := range cases {
		src, err := parseFLV(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if err != nil || len(src.hdrs) != tc.hdrs || len(src.frames) != tc.frames {
			t.Errorf("%s: %v, %d headers, %d frames", tc.name, err, len(src.hdrs), len(src.frames))
		}
	}
}

func TestFLVSourceLoops(t *testing.T) {
	t.Parallel()
	src, err := parseFLV(sampleFLV())
	if err != nil {
		t.Fatal(err)
	}
	var ts []uint32
	for range 6 {
		ts = append(ts, src.next().ts)
	}
	want := []uint32{0, 23, 40, 80, 103, 120}
	for i := range want {
		if ts[i] != want[i] {
			t.Fatalf("timestamps %v, want %v", ts, want)
		}
	}
}

func TestLoadFLVFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "a.flv")
	if err := os.WriteFile(p, sampleFLV(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadFLV(p); err != nil {
		t.Fatal(err)
	}
	if _, err := loadFLV(p + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParseFLV(f *testing.F) {
	f.Add(sampleFLV())
	f.Add(headersOnlyFLV())
	f.Add([]byte{'F', 'L', 'V', 1, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		src, err := parseFLV(in)
		if err != nil {
			return
		}
		for range len(src.frames) + 2 { // a full lap and a wrap
			f := src.next()
			if f.typeID != 8 && f.typeID != 9 {
				t.Fatalf("frame type %d", f.typeID)
			}
		}
	})
}

// One second of the synthetic stream carries about the asked bit rate plus audio.
func TestSynthBitrate(t *testing.T) {
	t.Parallel()
	s := newSynth(2_000_000)
	var video, audio, keys int
	for {
		f := s.next()
		if f.ts >= 1000 {
			break
		}
		if f.typeID == 9 {
			video += len(f.body)
			if isKeyframe(f.body[:2]) {
				keys++
			}
		} else {
			audio += len(f.body)
		}
	}
	if keys != 1 || video < 240_000 || video > 260_000 || audio < 14_000 || audio > 18_000 {
		t.Fatalf("one second: %d keyframes, %d video bytes, %d audio bytes", keys, video, audio)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cfg, asJSON, err := parseFlags([]string{"-url", "rtmp://h/live", "-bitrate", "1.5M", "-players", "3",
		"-source-addrs", "127.0.0.2, 127.0.0.3", "-json", "-duration", "2s"})
	if err != nil || !asJSON || cfg.Bitrate != 1_500_000 || cfg.Players != 3 || len(cfg.SourceAddrs) != 2 ||
		cfg.Duration != 2*time.Second {
		t.Fatalf("%+v %v %v", cfg, asJSON, err)
	}
	for _, bad := range [][]string{{"-url", "http://h/x"}, {"-bitrate", "fast"}, {"-duration", "0s"}, {"-players", "-1"}} {
		if _, _, err := parseFlags(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := (&Config{SourceAddrs: []string{"nope"}}).localAddr(0); err == nil {
		t.Error("bad source address accepted")
	}
}
