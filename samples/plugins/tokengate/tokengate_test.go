package tokengate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// TestAuthorize runs the module the way the origin does: selected, provisioned and validated
// by a plugin.Host, then asked about requests.
func TestAuthorize(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("# publishers\nfrom-file\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var sel plugin.Selection
	sel.Add(&Module{Tokens: []string{"inline"}, TokensFile: "tokens.txt"})
	host, err := plugin.NewHost(sel, plugin.Context{ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action      plugin.Action
		stream, con string
		want        plugin.Verdict
		reason      string
	}{
		{action: plugin.ActPublish, stream: "token=inline", want: plugin.Accept},
		{action: plugin.ActPublish, stream: "token=from-file", want: plugin.Accept},
		{action: plugin.ActPublish, con: "token=inline", want: plugin.Accept},
		{action: plugin.ActPublish, want: plugin.Reject, reason: "needs ?token="},
		{action: plugin.ActPublish, stream: "token=wrong", want: plugin.Reject, reason: "not accepted"},
		{action: plugin.ActPublish, stream: "token=%23%20publishers", want: plugin.Reject, reason: "not accepted"},
		{action: plugin.ActPlay, want: plugin.Accept}, // not gated: the app decides
		{action: plugin.ActConnect, want: plugin.Accept},
	} {
		req := &plugin.Request{Action: tc.action, App: "live", Stream: "cam", StreamQuery: tc.stream, ConnectQuery: tc.con}
		d := host.Authorize(context.Background(), req)
		if d.Verdict != tc.want || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("%s ?%s ?%s: %v %q, want %v %q", tc.action, tc.stream, tc.con, d.Verdict, d.Reason, tc.want, tc.reason)
		}
	}
}

// TestConfigErrors: what Provision and Validate refuse stops the start, naming the module.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		m    *Module
		want string
	}{
		{&Module{}, "no tokens"},
		{&Module{Tokens: []string{"x"}, Actions: []string{"seek"}}, `"seek" is not`},
		{&Module{TokensFile: "/nonexistent/tokens"}, "no such file"},
	} {
		var sel plugin.Selection
		sel.Add(tc.m)
		_, err := plugin.NewHost(sel, plugin.Context{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ID) {
			t.Errorf("%+v: %v, want %q", tc.m, err, tc.want)
		}
	}
}
