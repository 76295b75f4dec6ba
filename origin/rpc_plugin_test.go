package origin

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// geoModule is an rpc module: lookup answers for known addresses and fails for others.
type geoModule struct{}

func (geoModule) PluginInfo() plugin.ModuleInfo {
	return plugin.ModuleInfo{ID: "test.geo", New: func() plugin.Module { return geoModule{} }}
}
func (geoModule) RPCName() string      { return "geo" }
func (geoModule) RPCMethods() []string { return []string{"lookup"} }

func (geoModule) Call(ctx context.Context, call *plugin.RPCCall) (any, error) {
	ip, _ := call.Args[0].(string)
	if ip != "127.0.0.1" {
		return nil, fmt.Errorf("no location for %q", ip)
	}
	return map[string]any{"country": "ZZ", "app": call.App, "instance": call.Instance}, nil
}

// TestRPCModuleFromClientCall: a real RTMP client calls an app method that awaits a Go rpc
// module (application.plugins.geo.lookup) and gets the module's answer as its _result; the
// module's error reaches it as the call's _error (allowDebug on), and the server goes on.
func TestRPCModuleFromClientCall(t *testing.T) {
	t.Parallel()
	o := startOriginWith(t, func(c *Config) { c.Plugins.Add(geoModule{}) }, "geo")
	o.writeApp(t, "geo", `application.allowDebug = true;
Client.prototype.where = async function (ip) {
  var loc = await application.plugins.geo.lookup(ip || this.ip);
  return loc.country + "/" + loc.app + "/" + loc.instance;
};`)
	c := dial(t, o.url("geo/room"), rtmpclient.Options{})
	if v, err := c.Call(ctx5(t), "where"); err != nil || v != "ZZ/geo/room" {
		t.Fatalf("where: %v, %v", v, err)
	}
	_, err := c.Call(ctx5(t), "where", "10.0.0.1")
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code() != "NetConnection.Call.Failed" || se.Description() != `Error: no location for "10.0.0.1"` {
		t.Fatalf("failing lookup: %v", err)
	}
	if v, err := c.Call(ctx5(t), "where"); err != nil || v != "ZZ/geo/room" {
		t.Fatalf("after the failure: %v, %v", v, err)
	}
}
