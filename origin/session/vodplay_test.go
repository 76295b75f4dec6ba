package session

import (
	"math"
	"testing"
)

// TestParsePlayArgs: FMS's start and len rules as the wire carries them (ms, ffmpeg's -2000,
// librtmp's -1000).
func TestParsePlayArgs(t *testing.T) {
	for _, tc := range []struct {
		args []any
		want playArgs
	}{
		{[]any{"s"}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", -2.0}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", -2000.0}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", -7.0}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", math.NaN()}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", "0"}, playArgs{mode: liveOrRecorded, length: -1}},
		{[]any{"s", -1.0}, playArgs{mode: liveOnly, length: -1}},
		{[]any{"s", -1000.0}, playArgs{mode: liveOnly, length: -1}},
		{[]any{"s", 0.0}, playArgs{mode: recordedOnly, length: -1}},
		{[]any{"s", 2500.0, 0.0}, playArgs{mode: recordedOnly, start: 2500, length: 0}},
		{[]any{"s", 2500.0, 3000.0}, playArgs{mode: recordedOnly, start: 2500, length: 3000}},
		{[]any{"s", 1e300, -1000.0}, playArgs{mode: recordedOnly, start: math.MaxUint32, length: -1}},
		{[]any{"s", 0.0, math.NaN()}, playArgs{mode: recordedOnly, length: -1}},
	} {
		if got := parsePlayArgs(tc.args); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestPlayFileName: flv: is dropped, other formats' prefixes refused.
func TestPlayFileName(t *testing.T) {
	for name, want := range map[string]string{"a": "a", "flv:a/b": "a/b", "FLV:x": "x", "mp4:a.mp4": "", "F4V:a": "", "mp3:song": "", "id3:song": ""} {
		got, ok := playFileName(name)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v", name, got, ok)
		}
	}
}
