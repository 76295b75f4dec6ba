package origin

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestMaxClients: app.json's maxClients rejects connections beyond the limit with a clear
// status, and a place frees up when a client leaves.
func TestMaxClients(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	main := o.writeApp(t, "small", "application.onConnect = function () { return true; };\nClient.prototype.ping = function () { return 1; };\n")
	if err := os.WriteFile(filepath.Join(filepath.Dir(main), "app.json"), []byte(`{"maxClients": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a := dial(t, o.url("small"), rtmpclient.Options{})
	dial(t, o.url("small"), rtmpclient.Options{})
	_, err := rtmpclient.Dial(ctx5(t), o.url("small"), rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Connect.Rejected" {
		t.Fatalf("third client: want Rejected, got %v", err)
	}
	t.Logf("rejected with %q", se.Info.String("description"))
	a.Close()
	waitFor(t, 5e9, "a place to free up", func() bool {
		c, err := rtmpclient.Dial(ctx5(t), o.url("small"), rtmpclient.Options{})
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
