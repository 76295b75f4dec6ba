package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCappedLabels (issue 9 item 9, finding 11): client-chosen label values are cut to
// MaxLabelValue bytes (valid UTF-8, distinct names stay distinct), and a metric's series past
// MaxSeries are summed into one "_other_" series, so /metrics stays small whatever the clients
// named their instances. Three 4.5 KB instance names made /metrics 71 KB before.
func TestCappedLabels(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 3000) // 6,000 bytes of two-byte runes
	m := Metric{Name: "fmsgo_instance_players", Kind: Gauge}
	for i := range 3 {
		m.Samples = append(m.Samples, Sample{Labels: map[string]string{"instance": fmt.Sprintf("live/%s%d", long, i)}, Value: 1})
	}
	for i := range 2000 {
		m.Samples = append(m.Samples, Sample{Labels: map[string]string{"instance": fmt.Sprintf("live/i%04d", i)}, Value: 2})
	}
	got := Capped([]Metric{m})[0]
	if len(got.Samples) != MaxSeries {
		t.Fatalf("%d series, want %d", len(got.Samples), MaxSeries)
	}
	total, seen := 0.0, map[string]bool{}
	for _, s := range got.Samples {
		v := s.Labels["instance"]
		if len(v) > MaxLabelValue || !utf8.ValidString(v) || seen[v] {
			t.Fatalf("label value %q (%d bytes)", v, len(v))
		}
		seen[v] = true
		total += s.Value
	}
	if total != 3+2*2000 || !seen[OtherLabel] {
		t.Fatalf("sum %v (want 4003), other bucket %v", total, seen[OtherLabel])
	}
	srv := httptest.NewServer(Handler("origin", func() []Metric { return []Metric{m} }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), "\nfmsgo_instance_players{"); n != MaxSeries || len(body) > 100<<10 {
		t.Fatalf("/metrics: %d series, %d bytes", n, len(body))
	}
}

// TestRequireToken (issue 9 item 9): with a token, everything but /healthz needs
// "Authorization: Bearer TOKEN" (401 and a WWW-Authenticate header otherwise); without one the
// handler is open as before.
func TestRequireToken(t *testing.T) {
	t.Parallel()
	h := Handler("origin", sampleMetrics)
	srv := httptest.NewServer(RequireToken(h, "t0ken-for-the-admin"))
	defer srv.Close()
	get := func(path, auth string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", 401}, {"/api/stats", "", 401}, {"/metrics", "Bearer wrong", 401},
		{"/metrics", "t0ken-for-the-admin", 401}, {"/metrics", "Basic t0ken-for-the-admin", 401},
		{"/metrics", "Bearer t0ken-for-the-admin", 200}, {"/api/stats", "Bearer t0ken-for-the-admin", 200},
		{"/healthz", "", 200},
	} {
		code, www := get(c.path, c.auth)
		if code != c.want || (code == 401 && !strings.HasPrefix(www, "Bearer")) {
			t.Errorf("GET %s with %q: %d (%q), want %d", c.path, c.auth, code, www, c.want)
		}
	}
	if RequireToken(h, "") != h {
		t.Error("an empty token must leave the handler open")
	}
	if got := TokenFromEnv("", func(k string) string { return map[string]string{TokenEnv: "e"}[k] }); got != "e" {
		t.Errorf("TokenFromEnv = %q", got)
	}
}
