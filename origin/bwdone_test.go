package origin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestSendBWDoneSwitch: onBWDone follows the connect answer by default (CLIENTS.md #12) and not
// when app.json says "sendBWDone": false.
func TestSendBWDoneSwitch(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	o.writeApp(t, "bw", "application.onConnect = function () { return true; };\nClient.prototype.ping = function () { return 1; };\n")
	quiet := o.writeApp(t, "quiet", "application.onConnect = function () { return true; };\nClient.prototype.ping = function () { return 1; };\n")
	if err := os.WriteFile(filepath.Join(filepath.Dir(quiet), "app.json"), []byte(`{"sendBWDone": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sawBWDone := func(app string) bool {
		c := dial(t, o.url(app), rtmpclient.Options{})
		if _, err := c.Call(ctx5(t), "ping"); err != nil { // answered after anything sent at connect
			t.Fatal(err)
		}
		for {
			select {
			case ev := <-c.Events():
				if ev.Kind == rtmpclient.EventCommand && ev.Name == "onBWDone" {
					return true
				}
			default:
				return false
			}
		}
	}
	if !sawBWDone("bw") {
		t.Fatal("no onBWDone by default")
	}
	if sawBWDone("quiet") {
		t.Fatal("onBWDone sent although app.json turned it off")
	}
}
