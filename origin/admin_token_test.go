package origin

import (
	"net/http"
	"testing"
)

// TestAdminHTTPToken (issue 9 item 9): -http-token makes the origin's admin listener answer 401
// without "Authorization: Bearer TOKEN" and 200 with it; /healthz stays open for probes. The
// default -http is loopback only.
func TestAdminHTTPToken(t *testing.T) {
	t.Parallel()
	if d := DefaultConfig(); d.HTTP != "127.0.0.1:8086" || d.Trunk != "127.0.0.1:19350" || d.RTMP != ":1935" {
		t.Fatalf("defaults: rtmp %q trunk %q http %q", d.RTMP, d.Trunk, d.HTTP)
	}
	o := startOriginWith(t, func(c *Config) { c.HTTP, c.HTTPToken = "127.0.0.1:0", "admin-token-0123" })
	base := "http://" + o.srv.HTTPAddr().String()
	for _, c := range []struct {
		path, token string
		want        int
	}{{"/metrics", "", 401}, {"/metrics", "nope", 401}, {"/metrics", "admin-token-0123", 200}, {"/api/stats", "", 401}, {"/healthz", "", 200}} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (token %q): %d, want %d", c.path, c.token, resp.StatusCode, c.want)
		}
	}
}
