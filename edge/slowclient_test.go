package edge

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

const floodApp = `
application.onConnect = function () { return true; };
Client.prototype.echo = function (x) { return x; };
var big = "x";
while (big.length < 100000) { big = big + big; }
// The app floods the caller with server->client calls it will never read.
Client.prototype.flood = function (n) { for (var i = 0; i < n; i++) { this.call("flood", null, big); } return n; };
`

// TestSlowClientDoesNotDelayOthers: a client behind the edge stops reading while the app floods
// it with ~10 MB of calls; the other clients on the same edge (and trunk) keep getting their
// answers. The delay they see is measured and logged.
func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	o := startOrigin(t, "", map[string]string{"flood": floodApp})
	e := startEdge(t, "", o)
	stuck := dial(t, e.url("flood"), rtmpclient.Options{EventBuffer: 1}) // never drained: its reader stalls
	others := make([]*rtmpclient.Client, 10)
	for i := range others {
		others[i] = dial(t, e.url("flood"), rtmpclient.Options{})
	}
	// no answer wanted: the stuck client will not read it anyway
	if err := stuck.SendCommand(0, "flood", 0, nil, 100.0); err != nil {
		t.Fatalf("flood: %v", err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for _, c := range others {
		wg.Add(1)
		go func(c *rtmpclient.Client) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				start := time.Now()
				if v, err := c.Call(ctx5(t), "echo", float64(i)); err != nil || v != float64(i) {
					t.Errorf("echo through the edge during the flood: %v %v", v, err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	if len(lat) == 0 {
		t.Fatal("no answers")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("while one client stalled under a 10 MB flood: %d calls by 10 other clients, p50 %v, p99 %v, max %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
