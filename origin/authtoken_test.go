package origin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
	"github.com/fmsgo/fmsgo/core/rtmpclient/clienttest"
	"github.com/fmsgo/fmsgo/origin/modules/authtoken"
)

// tokenKey is the HMAC key of the auth.token tests (kid "k1" in their keys file).
const tokenKey = "authtoken-test-key-0123456789"

// startTokenOrigin runs an origin with auth.token protecting the given actions, its keys in a
// keys file beside the config (ConfigDir), as an operator would set it up.
func startTokenOrigin(t *testing.T, protect ...string) *testOrigin {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.keys"), []byte("k1 "+tokenKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startOriginWith(t, func(c *Config) {
		c.ConfigDir = dir
		c.Plugins.Add(&authtoken.Module{KeysFile: "token.keys", Protect: protect})
	}, "live")
}

// token mints a token for act on live/stream, valid for ttl from now (negative: expired).
func token(t testing.TB, stream string, ttl time.Duration, acts ...plugin.Action) string {
	t.Helper()
	tok, err := authtoken.Sign([]byte(tokenKey), "k1", authtoken.Claims{App: "live", Stream: stream, Actions: acts, Expires: time.Now().Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ffmpegRefused runs an ffmpeg publisher that the server must refuse: it has to exit with an
// error well before its 10 s of media, and the origin must have no publisher of name. It
// returns ffmpeg's output, where the status description shows as "Server error: ...".
func ffmpegRefused(t *testing.T, o *testOrigin, url, name string, extra ...string) string {
	t.Helper()
	ff := requireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-t", "10"}, extra...)
	start := time.Now()
	out, err := exec.CommandContext(ctx, ff, append(args, "-f", "flv", url)...).CombinedOutput()
	if err == nil || time.Since(start) > 8*time.Second {
		t.Fatalf("ffmpeg publishing to %s was not refused (exit %v after %v):\n%s", url, err, time.Since(start), tail(string(out), 10))
	}
	if o.srv.hasPublisher("live", DefaultInstance, name) {
		t.Fatalf("a refused ffmpeg is publishing %s", name)
	}
	return string(out)
}

// TestAuthTokenFFmpegPublishPlay: with auth.token protecting publish and play, ffmpeg publishes
// with a valid token and ffprobe / an ffmpeg player play it with theirs; an expired token, a
// token for another stream, a bad signature and no token are refused with
// NetStream.Publish.BadName / NetStream.Play.Failed and a description saying which.
func TestAuthTokenFFmpegPublishPlay(t *testing.T) {
	t.Parallel()
	o := startTokenOrigin(t, "publish", "play")
	pub, play := plugin.ActPublish, plugin.ActPlay
	forged, _ := authtoken.Sign([]byte("another-key-of-16-bytes+"), "k1", authtoken.Claims{App: "live", Stream: "cam", Actions: []plugin.Action{pub}, Expires: time.Now().Add(time.Hour)})
	refusedPublish := []struct{ name, query, want string }{
		{"expired", "?token=" + token(t, "cam", -time.Hour, pub), "token expired"},
		{"wrong-stream", "?token=" + token(t, "other", time.Hour, pub), `token is for another stream than "cam"`},
		{"play-token", "?token=" + token(t, "cam", time.Hour, play), "token does not allow this action: publish"},
		{"bad-signature", "?token=" + forged, "bad token signature"},
		{"missing", "", "token required to publish (?token=)"},
	}
	for _, tc := range refusedPublish {
		t.Run("publish-"+tc.name, func(t *testing.T) {
			if out := ffmpegRefused(t, o, o.url("live/cam"+tc.query), "cam"); !strings.Contains(out, "Server error: "+tc.want) {
				t.Errorf("ffmpeg does not show the reason %q:\n%s", tc.want, tail(out, 5))
			}
			c := dial(t, o.url("live"), rtmpclient.Options{})
			code, desc := clienttest.PublishCode(t, c, "cam"+tc.query)
			if code != "NetStream.Publish.BadName" || !strings.HasPrefix(desc, tc.want) {
				t.Fatalf("publish with a %s token: %s %q, want BadName %q", tc.name, code, desc, tc.want)
			}
		})
	}

	valid := token(t, "cam", time.Hour, pub)
	ffmpegPublish(t, o.url("live/cam?token="+valid), 60)
	o.waitPublished(t, "live", "cam")

	playValid := "?token=" + token(t, "cam", time.Hour, play)
	t.Run("ffprobe-valid", func(t *testing.T) {
		out := runTool(t, 15*time.Second, requireTool(t, "ffprobe"), "-v", "error", "-rw_timeout", "8000000",
			"-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0", o.url("live/cam"+playValid))
		if !strings.Contains(out, "h264,video") {
			t.Fatalf("ffprobe with a valid play token: %q", out)
		}
	})
	t.Run("ffmpeg-player-valid", func(t *testing.T) {
		out := runTool(t, 20*time.Second, requireTool(t, "ffmpeg"), "-nostdin", "-rw_timeout", "8000000",
			"-i", o.url("live/cam"+playValid), "-t", "2", "-f", "null", "-")
		if n := lastFrameCount(out); n < 40 {
			t.Fatalf("player with a valid token decoded %d frames in 2 s:\n%s", n, tail(out, 10))
		}
	})
	refusedPlay := []struct{ name, query, want string }{
		{"expired", "?token=" + token(t, "cam", -time.Minute, play), "token expired"},
		{"wrong-stream", "?token=" + token(t, "cam2", time.Hour, play), `token is for another stream than "cam"`},
		{"publish-token", "?token=" + valid, "token does not allow this action: play"},
		{"missing", "", "token required to play (?token=)"},
	}
	for _, tc := range refusedPlay {
		t.Run("play-"+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, requireTool(t, "ffprobe"), "-v", "error", "-rw_timeout", "5000000",
				"-show_entries", "stream=codec_name", "-of", "csv=p=0", o.url("live/cam"+tc.query)).CombinedOutput()
			if err == nil || strings.Contains(string(out), "h264") || !strings.Contains(string(out), "Server error: "+tc.want) {
				t.Fatalf("ffprobe with a %s token was not refused with %q: %v\n%s", tc.name, tc.want, err, out)
			}
			c := dial(t, o.url("live"), rtmpclient.Options{})
			code, desc := clienttest.PlayCode(t, c, "cam"+tc.query)
			if code != "NetStream.Play.Failed" || !strings.HasPrefix(desc, tc.want) {
				t.Fatalf("play with a %s token: %s %q, want Play.Failed %q", tc.name, code, desc, tc.want)
			}
		})
	}
	t.Run("token-on-connect-url", func(t *testing.T) {
		c := dial(t, o.url("live?token="+token(t, "cam", time.Hour, play)), rtmpclient.Options{})
		if code, desc := clienttest.PlayCode(t, c, "cam"); code != "NetStream.Play.Start" {
			t.Fatalf("play with the token on the connect URL: %s %q", code, desc)
		}
	})
	assertNoTokenLogged(t, o, valid)
}

// TestAuthTokenConnect: with connect protected, a client without a token (ffmpeg's URL query
// rides on its stream name, not its connect), with an expired one or one for another app is
// rejected with NetConnection.Connect.Rejected and the reason; ffmpeg with the token in its app
// field (-rtmp_app "live?token=...") connects and publishes.
func TestAuthTokenConnect(t *testing.T) {
	t.Parallel()
	o := startTokenOrigin(t, "connect")
	pub := plugin.ActPublish
	out := ffmpegRefused(t, o, o.url("live/cam?token="+token(t, "cam", time.Hour, pub)), "cam")
	if !strings.Contains(out, "Server error: token required to connect (?token=)") {
		t.Errorf("ffmpeg does not show the reason:\n%s", out)
	}
	out = ffmpegRefused(t, o, o.url("live/cam"), "cam", "-rtmp_app", "live?token="+token(t, "cam", -time.Hour, pub))
	if !strings.Contains(out, "Server error: token expired") {
		t.Errorf("ffmpeg does not show the reason:\n%s", out)
	}
	for name, tc := range map[string]struct{ query, want string }{
		"missing": {"", "token required to connect (?token=)"},
		"expired": {"?token=" + token(t, "cam", -time.Hour, pub), "token expired"},
		"other-app": {"?token=" + func() string {
			tok, _ := authtoken.Sign([]byte(tokenKey), "k1", authtoken.Claims{App: "chat", Actions: []plugin.Action{plugin.ActConnect}, Expires: time.Now().Add(time.Hour)})
			return tok
		}(), "token is for another application"},
	} {
		_, err := rtmpclient.Dial(ctx5(t), o.url("live"+tc.query), rtmpclient.Options{})
		var se *rtmpclient.StatusError
		if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" || !strings.HasPrefix(se.Description(), tc.want) {
			t.Fatalf("connect %s: %v, want Connect.Rejected %q", name, err, tc.want)
		}
	}
	ffmpegPublish(t, o.url("live/cam"), 30, "-rtmp_app", "live?token="+token(t, "cam", time.Hour, pub))
	o.waitPublished(t, "live", "cam")
}

// assertNoTokenLogged: neither a token nor the key is in the origin's log above debug.
func assertNoTokenLogged(t *testing.T, o *testOrigin, tok string) {
	t.Helper()
	for _, line := range strings.Split(o.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["level"] == "debug" || rec["level"] == "trace" {
			continue
		}
		if strings.Contains(line, tok) || strings.Contains(line, tokenKey) {
			t.Errorf("a token or the key is logged at %v: %s", rec["level"], line)
		}
	}
	if !strings.Contains(o.logs.String(), `"reason":"token expired`) {
		t.Errorf("the refusals' reasons are not logged")
	}
}
