package session

import "testing"

func TestParseConnectTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		app, tc string
		want    Target
		bad     bool
	}{
		{app: "live", want: Target{App: "live", Instance: "_definst_"}},
		{app: "live/", want: Target{App: "live", Instance: "_definst_"}},
		{app: "chat/room1", want: Target{App: "chat", Instance: "room1"}},
		{app: "live?authmod=adobe&user=bob", want: Target{App: "live", Instance: "_definst_", Query: "authmod=adobe&user=bob"}},
		{app: "live/r1?key=k", want: Target{App: "live", Instance: "r1", Query: "key=k"}},
		{app: "", tc: "rtmp://h:1935/vod/a/b?x=1", want: Target{App: "vod", Instance: "a/b", Query: "x=1"}},
		{app: "../etc", bad: true},
		{app: "", tc: "", bad: true},
		{app: "li ve", bad: true},
	}
	for _, c := range cases {
		got, err := ParseConnectTarget(c.app, c.tc)
		if c.bad {
			if err == nil {
				t.Errorf("%q: want error, got %+v", c.app, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %q: got %+v %v, want %+v", c.app, c.tc, got, err, c.want)
		}
	}
}

func TestSplitStreamName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"test":          {"test", ""},
		"test?key=abc":  {"test", "key=abc"},
		"mp4:a.mp4?t=1": {"mp4:a.mp4", "t=1"},
	} {
		n, q := SplitStreamName(in)
		if n != want[0] || q != want[1] {
			t.Errorf("%q: got %q %q", in, n, q)
		}
	}
}
